"""Moderation commands for group admins: one command per rule, and ``.mod`` (greetings: ``greetings``).

Every rule command reads the same words (``on [action]``, ``off``, an action, ``allow``/``unallow``
entries, and the rule's own: ``level``, ``threshold``, ``add``/``del`` words, ``deny`` codes): see
``bot.commands._rules``. The rules run on every message in ``bot.dispatch.moderator``; warnings
are ``bot.commands.warnings``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.commands._rules import rule_command, rule_line
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.moderation_settings import RULES
from bot.transport.base import Reply


@command(
    "mod",
    aliases=("moderation", "rules"),
    category="moderation",
    help="Every moderation rule of this group, its action and its allow-list, in one reply.",
    who="group_admin",
    where="group",
)
def mod(ctx: CommandContext) -> Reply:
    assert ctx.moderator is not None
    book = ctx.moderator.rulebook
    lines = [_("Moderation in this group:")]
    lines += [rule_line(book.rule(ctx.chat, name)) for name in RULES]
    policy = book.warn_settings(ctx.chat)
    decay = (
        _("warnings fade after %(days)d days") % {"days": policy.decay_days}
        if policy.decay_days
        else _("warnings never fade")
    )
    custom = _("custom message") if policy.template else _("default message")
    lines.append(
        _("*warnings*: %(limit)d remove a member; %(decay)s; %(custom)s")
        % {
            "limit": policy.limit,
            "decay": decay,
            "custom": custom,
        }
    )
    if not ctx.bot_is_admin:
        lines += ["", _("I am not a group admin here: no rule can act until I am.")]
    lines += [
        "",
        _("Actions: delete (the message), warn (delete and warn), kick (delete and remove), none (only record)."),
    ]
    return ctx.reply("\n".join(lines))


@command(
    "antilink",
    category="moderation",
    help="Links from non-admins: delete, warn or kick; allow some domains.",
    usage="on [delete|warn|kick|none] | off | allow <domain>... | unallow <domain>...",
    who="group_admin",
    where="group",
)
def antilink(ctx: CommandContext) -> Reply:
    return rule_command(ctx, "antilink")


@command(
    "antispam",
    aliases=("antiflood",),
    category="moderation",
    help="Floods (many messages in a few seconds) and the same message again and again.",
    usage="on [delete|warn|kick|none] [low|medium|high] | off | level <low|medium|high> | allow <number>...",
    who="group_admin",
    where="group",
)
def antispam(ctx: CommandContext) -> Reply:
    return rule_command(ctx, "antispam")


@command(
    "antibadword",
    aliases=("antitoxic",),
    category="moderation",
    help="Banned words (whole words, any case or accents): a list per group, and the global one.",
    usage="on [action] | off | add <word>... | del <word>... | list | global on|off | global add|del <word>... (owner)",
    who="group_admin",
    where="group",
)
def antibadword(ctx: CommandContext) -> Reply:
    return rule_command(ctx, "antibadword")


@command(
    "antifake",
    category="moderation",
    help="New members from refused country calling codes, acted on when they join.",
    usage="on [warn|kick|none] | off | allow <code>... (only these) | deny <code>... | unallow/undeny <code>...",
    who="group_admin",
    where="group",
)
def antifake(ctx: CommandContext) -> Reply:
    return rule_command(ctx, "antifake")


@command(
    "antibot",
    category="moderation",
    help="Members posting through another bot (their message ids give the bot away).",
    usage="on [delete|warn|kick|none] | off | allow <number>...",
    who="group_admin",
    where="group",
)
def antibot(ctx: CommandContext) -> Reply:
    return rule_command(ctx, "antibot")


@command(
    "antimention",
    aliases=("antitag",),
    category="moderation",
    help="Mass mentions: a message tagging many members at once.",
    usage="on [delete|warn|kick|none] [N] | off | threshold <N> | allow <number>...",
    who="group_admin",
    where="group",
)
def antimention(ctx: CommandContext) -> Reply:
    return rule_command(ctx, "antimention")
