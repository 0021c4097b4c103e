"""Moderation settings: the checks and the writes of rules, warn policies and the log.

Loaded by the bot child (the group admins' commands, the moderator) and by the web's admin, so a
value is checked the same way wherever it comes from, before anything is stored: an unknown
action or level, a domain that is not one, a template with an unknown placeholder or 5,000
characters is refused with one sentence (``SettingsError``) and nothing is written.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import F
from django.utils.translation import gettext as _

from bot.models.moderation import GLOBAL_CHAT, ModerationLog, ModerationRule, WarnPolicy

RULES: tuple[str, ...] = tuple(ModerationRule.Rule.values)
ACTIONS: tuple[str, ...] = tuple(ModerationRule.Action.values)
LEVELS: tuple[str, ...] = ("low", "medium", "high")
TEMPLATE_FIELDS = frozenset({"mention", "count", "limit", "remaining"})
MAX_TEMPLATE_CHARS = 1000
MAX_ENTRIES = 200  # per list of one rule: a word list, an allow-list
MAX_WORD_CHARS = 40
MIN_WORD_CHARS = 2
MENTION_THRESHOLD_BOUNDS = (2, 1024)
DEFAULT_MENTION_THRESHOLD = 10
WARN_LIMIT_BOUNDS = (1, 100)
DECAY_DAYS_BOUNDS = (0, 3650)
EXCERPT_CHARS = 100

_DOMAIN = re.compile(r"^(?=.{3,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CODE = re.compile(r"^[1-9][0-9]{0,2}$")
_MEMBER = re.compile(r"^[0-9]{5,16}$")


class SettingsError(ValueError):
    """A moderation value that cannot be stored: the message says what to change."""


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, combining marks dropped, casefolded ('Ｓｃhön' -> 'schon')."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


# -- single values -----------------------------------------------------------------------------------------
def domain_check(value: str) -> str:
    """'https://www.YouTube.com/x' -> 'youtube.com'; a subdomain of an allowed domain is allowed too."""
    text = value.strip().lower()
    text = re.sub(r"^[a-z]+://", "", text).split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    text = text.removeprefix("www.")
    if not _DOMAIN.match(text):
        raise SettingsError(_("%(value)s is not a domain like youtube.com.") % {"value": value[:60]})
    return text


def calling_code_check(value: str) -> str:
    """'+234' -> '234': a country calling code, 1 to 3 digits."""
    text = value.strip().lstrip("+")
    if not _CODE.match(text):
        raise SettingsError(_("%(value)s is not a country calling code like 234 or +44.") % {"value": value[:60]})
    return text


def word_check(value: str) -> str:
    """A word for the bad-word list, stored folded (so 'Café' matches 'cafe' and 'CAFÉ')."""
    text = fold(value.strip())
    if not (MIN_WORD_CHARS <= len(text) <= MAX_WORD_CHARS) or not all(ch.isalnum() or ch in "-'" for ch in text):
        raise SettingsError(
            _("%(value)s is not a word of %(low)d to %(high)d letters.")
            % {"value": value[:60], "low": MIN_WORD_CHARS, "high": MAX_WORD_CHARS}
        )
    return text


def member_check(value: str) -> str:
    """A member on a rule's allow-list: phone digits ('+1 555 000 1234' -> '15550001234')."""
    text = "".join(ch for ch in value if ch not in "+ -()@").split("s.whatsapp.net", 1)[0]
    if not _MEMBER.match(text):
        raise SettingsError(_("%(value)s is not a phone number.") % {"value": value[:60]})
    return text


def entry_check(rule: str, value: str) -> str:
    """An allow-list entry in the form the rule reads."""
    if rule == "antilink":
        return domain_check(value)
    if rule == "antifake":
        return calling_code_check(value)
    return member_check(value)


def template_check(text: str) -> str:
    """A warning template: only {mention} {count} {limit} {remaining}, plain, at most 1,000 characters."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise SettingsError(
            _("A template can have at most %(most)d characters; this one has %(n)d.")
            % {"most": MAX_TEMPLATE_CHARS, "n": len(text)}
        )
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError:
        raise SettingsError(_("A template's braces must be {name} pairs; write {{ or }} for a brace.")) from None
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS or spec or conversion:
            raise SettingsError(
                _("Unknown placeholder {%(name)s}: use {mention}, {count}, {limit} or {remaining}.")
                % {"name": name[:40]}
            )
    return text


def template_render(template: str, *, mention: str, count: int, limit: int) -> str:
    """A checked template filled in (the fields are plain names, so format_map reads nothing else)."""
    values = {"mention": mention, "count": count, "limit": limit, "remaining": max(0, limit - count)}
    return template.format_map(values)


def bounded_int(value: Any, *, low: int, high: int, what: str) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not low <= number <= high or len(str(value).strip()) > 6:
        raise SettingsError(
            _("%(what)s must be a whole number from %(low)d to %(high)d.") % {"what": what, "low": low, "high": high}
        )
    return number


# -- one rule's configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleValues:
    """One rule's stored values, checked."""

    action: str
    allow: tuple[str, ...]
    block: tuple[str, ...]
    options: Mapping[str, Any]


def _entries(values: Iterable[str], check: Any) -> tuple[str, ...]:
    checked = tuple(dict.fromkeys(check(v) for v in values))
    if len(checked) > MAX_ENTRIES:
        raise SettingsError(_("A list can hold at most %(most)d entries.") % {"most": MAX_ENTRIES})
    return checked


def rule_values_check(
    rule: str, *, action: str, allow: Iterable[str], block: Iterable[str], options: Mapping[str, Any]
) -> RuleValues:
    """Every value of one rule row, checked (the admin's form and the commands call this)."""
    if rule not in RULES:
        raise SettingsError(_("Unknown rule %(rule)s.") % {"rule": rule[:40]})
    if action not in ACTIONS:
        raise SettingsError(_("The action must be delete, warn, kick or none."))
    if rule == "antifake" and action == "delete":
        raise SettingsError(_("antifake acts when someone joins, with no message to delete: use warn, kick or none."))
    allowed = _entries(allow, lambda v: entry_check(rule, str(v)))
    if rule == "antibadword":
        blocked = _entries(block, lambda v: word_check(str(v)))
    elif rule == "antifake":
        blocked = _entries(block, lambda v: calling_code_check(str(v)))
    elif block:
        raise SettingsError(_("Only antibadword and antifake have a block list."))
    else:
        blocked = ()
    known = {"antispam": {"level"}, "antimention": {"threshold"}, "antibadword": {"global"}}.get(rule, set())
    unknown = set(options) - known
    if unknown:
        raise SettingsError(_("Unknown option %(name)s.") % {"name": sorted(unknown)[0][:40]})
    checked: dict[str, Any] = {}
    if "level" in options:
        if options["level"] not in LEVELS:
            raise SettingsError(_("The level must be low, medium or high."))
        checked["level"] = options["level"]
    if "threshold" in options:
        low, high = MENTION_THRESHOLD_BOUNDS
        checked["threshold"] = bounded_int(options["threshold"], low=low, high=high, what=_("The mention threshold"))
    if "global" in options:
        checked["global"] = bool(options["global"])
    return RuleValues(action=action, allow=allowed, block=blocked, options=checked)


# -- writes -----------------------------------------------------------------------------------------------
def rule_update(
    *,
    session_name: str,
    chat: str,
    rule: str,
    enabled: bool | None = None,
    action: str | None = None,
    allow: Iterable[str] | None = None,
    block: Iterable[str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ModerationRule:
    """Change one rule of one group (its row created off); every value checked first, then stored."""
    row = ModerationRule.objects.filter(session_name=session_name, chat=chat, rule=rule).first()
    row = row or ModerationRule(session_name=session_name, chat=chat, rule=rule)
    values = rule_values_check(
        rule,
        action=action if action is not None else row.action,
        allow=allow if allow is not None else row.allow or [],
        block=block if block is not None else row.block or [],
        options={**(row.options or {}), **(options or {})},
    )
    if enabled is not None:
        row.enabled = enabled
    row.action, row.allow, row.block, row.options = (
        values.action,
        list(values.allow),
        list(values.block),
        dict(values.options),
    )
    row.save()
    return row


def warn_policy_update(
    *,
    session_name: str,
    chat: str,
    limit: int | None = None,
    template: str | None = None,
    decay_days: int | None = None,
) -> WarnPolicy:
    """Change a group's warning policy; a template is checked before it is stored ('' = the default)."""
    row, _created = WarnPolicy.objects.get_or_create(session_name=session_name, chat=chat)
    if limit is not None:
        row.limit = bounded_int(limit, low=WARN_LIMIT_BOUNDS[0], high=WARN_LIMIT_BOUNDS[1], what=_("The limit"))
    if decay_days is not None:
        low, high = DECAY_DAYS_BOUNDS
        row.decay_days = bounded_int(decay_days, low=low, high=high, what=_("The decay"))
    if template is not None:
        row.template = template_check(template)
    row.save()
    return row


def moderation_log_record(
    *, session_name: str, chat: str, member: str, rule: str, action: str, excerpt: str = "", detail: str = ""
) -> int:
    """Record one action; returns the row's id (a flood's later deletes are added to it)."""
    text = " ".join(excerpt.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    row = ModerationLog.objects.create(
        session_name=session_name,
        chat=chat,
        member=member[:128],
        rule=rule,
        action=action,
        excerpt=text,
        detail=detail[:200],
    )
    return row.pk


def moderation_log_add_messages(*, row_id: int, messages: int = 1) -> None:
    """More messages of the same flood were deleted: one indexed update, no new row."""
    ModerationLog.objects.filter(pk=row_id).update(messages=F("messages") + messages)


# -- reads -------------------------------------------------------------------------------------------------
def rules_all(*, session_name: str) -> list[ModerationRule]:
    return list(ModerationRule.objects.filter(session_name=session_name))


def warn_policies_all(*, session_name: str) -> list[WarnPolicy]:
    return list(WarnPolicy.objects.filter(session_name=session_name))


__all__ = ["GLOBAL_CHAT", "SettingsError"]
