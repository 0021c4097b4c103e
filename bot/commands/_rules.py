"""The words every rule command understands (``.antilink on kick``, ``.antilink allow youtube.com``), and
the one line per rule that ``.mod`` and the commands answer with. Shared by ``bot.commands.moderation``.

A value that cannot be stored gets the check's own sentence (``SettingsError``) and changes nothing.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.dispatch.parsing import parse_on_off
from bot.dispatch.rulebook import RuleBook
from bot.dispatch.rules import RuleConfig
from bot.dispatch.rules.antispam import DEFAULT_LEVEL
from bot.models.moderation import GLOBAL_CHAT
from bot.moderation_settings import ACTIONS, DEFAULT_MENTION_THRESHOLD, LEVELS, SettingsError, entry_check, word_check
from bot.transport.base import Reply

SHOWN_ENTRIES = 10  # allow-list entries a status line shows before "and N more"


def _listing(values: frozenset[str]) -> str:
    shown = sorted(values)[:SHOWN_ENTRIES]
    more = len(values) - len(shown)
    return ", ".join(shown) + (" " + _("and %(n)d more") % {"n": more} if more > 0 else "")


def rule_line(cfg: RuleConfig) -> str:
    """'antilink: on, warn; allowed: youtube.com' (bad words are counted, never printed here)."""
    state = _("on") if cfg.enabled else _("off")
    parts = [f"*{cfg.rule}*: {state}, {cfg.action}"]
    if cfg.rule == "antispam":
        parts.append(_("level %(level)s") % {"level": cfg.options.get("level", DEFAULT_LEVEL)})
    if cfg.rule == "antimention":
        parts.append(_("from %(n)s mentions") % {"n": cfg.options.get("threshold", DEFAULT_MENTION_THRESHOLD)})
    if cfg.rule == "antibadword":
        parts.append(_("%(n)d words") % {"n": len(cfg.block)})
        if cfg.options.get("global"):
            parts.append(_("with the global list"))
    if cfg.rule == "antifake" and cfg.block:
        parts.append(_("blocked: %(codes)s") % {"codes": _listing(frozenset("+" + c for c in cfg.block))})
    if cfg.allow:
        allowed = frozenset("+" + c for c in cfg.allow) if cfg.rule == "antifake" else cfg.allow
        parts.append(_("allowed: %(entries)s") % {"entries": _listing(allowed)})
    return "; ".join(parts)


def _book(ctx: CommandContext) -> RuleBook:
    assert ctx.moderator is not None, "the router gives every command its moderator"
    return ctx.moderator.rulebook


def _entries(rule: str, words: list[str]) -> list[str]:
    return [entry_check(rule, w) for w in words]


def rule_command(ctx: CommandContext, rule: str) -> Reply:
    """``.<rule> [on [action] [level|threshold] | off | delete|warn|kick|none | allow X.. | unallow X.. | ...]``."""
    book = _book(ctx)
    current = book.rule(ctx.chat, rule)
    args = [a.lower() for a in ctx.args]
    if not args:
        return ctx.reply(rule_line(current) + "\n" + ctx.usage())
    verb, rest = args[0], args[1:]
    if rule == "antibadword" and verb == "global" and len(rest) >= 2 and rest[0] in {"add", "del", "remove"}:
        return _global_words(ctx, book, add=rest[0] == "add", words=rest[1:])
    try:
        changes = _changes(rule, verb, rest, current)
    except SettingsError as exc:
        return ctx.reply(str(exc))
    if changes is None:
        return ctx.reply(ctx.usage())
    if isinstance(changes, str):
        return ctx.reply(changes)
    try:
        cfg = book.rule_set(ctx.chat, rule, **changes) if changes else current
    except SettingsError as exc:
        return ctx.reply(str(exc))
    note = ""
    if cfg.enabled and cfg.action != "none" and not ctx.bot_is_admin:
        note = "\n" + _("I am not a group admin here: until I am, I can only tell you so.")
    return ctx.reply(rule_line(cfg) + note)


def _global_words(ctx: CommandContext, book: RuleBook, *, add: bool, words: list[str]) -> Reply:
    """Owners edit the session-wide word list a group may use with ``.antibadword global on``."""
    if not ctx.is_owner:
        return ctx.reply(_("Only the bot owner can change the global word list."))
    try:
        changed = {word_check(w) for w in words}
        current = book.rule(GLOBAL_CHAT, "antibadword").block
        cfg = book.rule_set(GLOBAL_CHAT, "antibadword", block=sorted(current | changed if add else current - changed))
    except SettingsError as exc:
        return ctx.reply(str(exc))
    return ctx.reply(_("The global word list has %(n)d words.") % {"n": len(cfg.block)})


def _changes(rule: str, verb: str, rest: list[str], current: RuleConfig) -> dict | str | None:
    """What ``verb`` changes (a dict for ``rule_update``), a reply to send instead, or None for the usage."""
    switch = parse_on_off(verb)
    if switch is False:
        return {"enabled": False} if not rest else None
    if switch is True:
        changes: dict = {"enabled": True}
        for word in rest:
            if word in ACTIONS:
                changes["action"] = word
            elif rule == "antispam" and word in LEVELS:
                changes["options"] = {"level": word}
            elif rule == "antimention" and word.isdigit():
                changes["options"] = {"threshold": word}
            else:
                return None
        return changes
    if verb in ACTIONS and not rest:
        return {"action": verb}
    if verb == "allow" and rest:
        return {"allow": sorted(current.allow | set(_entries(rule, rest)))}
    if verb in {"unallow", "disallow"} and rest:
        return {"allow": sorted(current.allow - set(_entries(rule, rest)))}
    if rule == "antispam" and verb == "level" and len(rest) == 1:
        return {"options": {"level": rest[0]}}
    if rule == "antimention" and verb == "threshold" and len(rest) == 1:
        return {"options": {"threshold": rest[0]}}
    if rule == "antifake" and verb in {"deny", "block"} and rest:
        return {"block": sorted(current.block | set(_entries(rule, rest)))}
    if rule == "antifake" and verb in {"undeny", "unblock"} and rest:
        return {"block": sorted(current.block - set(_entries(rule, rest)))}
    if rule == "antibadword":
        return _badword_changes(verb, rest, current)
    return None


def _badword_changes(verb: str, rest: list[str], current: RuleConfig) -> dict | str | None:
    if verb == "add" and rest:
        return {"block": sorted(current.block | {word_check(w) for w in rest})}
    if verb in {"del", "remove"} and rest:
        return {"block": sorted(current.block - {word_check(w) for w in rest})}
    if verb == "list" and not rest:
        return ", ".join(sorted(current.block)) or _("No words yet: .antibadword add <word>.")
    if verb == "global" and len(rest) == 1 and parse_on_off(rest[0]) is not None:
        return {"options": {"global": parse_on_off(rest[0])}}
    return None
