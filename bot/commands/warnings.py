"""Warnings for group admins: ``.warn @member [reason]``, ``.warn reset @member``, the group's policy
(``.warn limit N``, ``.warn decay N``, ``.warn template <text>``), ``.warnings``.

Warnings are persisted; the group's limit (``WARN_LIMIT`` unless set here) removes the member and
every warning and removal is recorded in the moderation log (rule ``manual``). A template is
checked before it is stored: unknown placeholders or an overlong text get one reply, nothing saved.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot import moderation_settings as store
from bot.commands._members import is_me, need_targets
from bot.dispatch import selectors, services
from bot.dispatch.context import CommandContext, mention
from bot.dispatch.moderation import find_member, member_key, warn_member, warning_text, warnings_since
from bot.dispatch.registry import command
from bot.dispatch.rulebook import RuleBook
from bot.moderation_settings import SettingsError
from bot.transport.base import Reply

POLICY_WORDS = {"limit", "decay", "template"}


def _book(ctx: CommandContext) -> RuleBook:
    assert ctx.moderator is not None, "the router gives every command its moderator"
    return ctx.moderator.rulebook


@command(
    "warn",
    category="moderation",
    help="Warn a member (the group's limit removes them); reset, limit, decay and template set the policy.",
    usage="@member [reason] | reset @member | limit <N> | decay <days> | template <text with {mention} {count} {limit} {remaining}>",
    who="group_admin",
    where="group",
)
def warn(ctx: CommandContext) -> list[Reply] | Reply:
    first = ctx.args[0].lower() if ctx.args else ""
    if first == "reset":
        return _reset(ctx)
    if first in POLICY_WORDS:
        return _policy(ctx, first, ctx.arg_text.split(None, 1)[1] if len(ctx.args) > 1 else "")
    missing = need_targets(ctx)
    if missing:
        return missing
    reason = " ".join(a for a in ctx.args if not a.startswith("@")).strip()
    policy = _book(ctx).warn_settings(ctx.chat)
    replies: list[Reply] = []
    for jid in ctx.targets:
        member = find_member(ctx.group, jid)
        key = member_key(ctx.group, jid)
        if is_me(ctx, jid):
            replies.append(ctx.reply(_("I won't warn myself.")))
        elif member is not None and member.admin:
            replies.append(
                ctx.reply(_("%(who)s is an admin; admins can't be warned.") % {"who": mention(jid)}, mentions=[jid])
            )
        elif key in ctx.owners:
            replies.append(ctx.reply(_("%(who)s is the bot owner.") % {"who": mention(jid)}, mentions=[jid]))
        else:
            outcome = warn_member(
                session_name=ctx.session_name,
                bot_jid=ctx.bot_jid,
                chat=ctx.chat,
                group=ctx.group,
                jid=jid,
                reason=reason,
                given_by=ctx.user_key,
                policy=policy,
            )
            replies += outcome.replies
            store.moderation_log_record(
                session_name=ctx.session_name,
                chat=ctx.chat,
                member=key,
                rule="manual",
                action="kick" if outcome.removed else "warn",
                excerpt=reason,
                detail=f"by {ctx.user_key}; warning {outcome.count}/{outcome.limit}",
            )
    return replies


def _reset(ctx: CommandContext) -> list[Reply] | Reply:
    missing = need_targets(ctx)
    if missing:
        return missing
    replies = []
    for jid in ctx.targets:
        removed = services.warnings_reset(session_name=ctx.session_name, chat=ctx.chat, user=member_key(ctx.group, jid))
        text = _("Cleared %(n)d warning(s) of %(who)s.") % {"n": removed, "who": mention(jid)}
        replies.append(ctx.reply(text, mentions=[jid]))
    return replies


def _policy(ctx: CommandContext, word: str, value: str) -> Reply:
    book = _book(ctx)
    if not value.strip():
        policy = book.warn_settings(ctx.chat)
        current = {
            "limit": str(policy.limit),
            "decay": str(policy.decay_days),
            "template": policy.template or _("(default)"),
        }
        return ctx.reply(f"{word}: {current[word]}\n{ctx.usage()}")
    try:
        if word == "limit":
            policy = book.warn_set(ctx.chat, limit=value)
        elif word == "decay":
            policy = book.warn_set(ctx.chat, decay_days=value)
        else:
            template = "" if value.strip().lower() == "default" else value.strip()
            policy = book.warn_set(ctx.chat, template=template)
    except SettingsError as exc:
        return ctx.reply(str(exc))
    if word == "limit":
        return ctx.reply(_("%(n)d warnings now remove a member.") % {"n": policy.limit})
    if word == "decay":
        if not policy.decay_days:
            return ctx.reply(_("Warnings no longer fade."))
        return ctx.reply(_("Warnings now stop counting after %(n)d days.") % {"n": policy.decay_days})
    example = warning_text(policy, who=mention(ctx.sender), count=1)
    return ctx.reply(_("Warning message set. It reads like this:") + "\n" + example, mentions=[ctx.sender])


@command(
    "warnings",
    aliases=("warns",),
    category="moderation",
    help="How many warnings a member has (yours without a mention).",
    usage="[@member]",
    where="group",
)
def warnings(ctx: CommandContext) -> Reply:
    jid = ctx.targets[0] if ctx.targets else ctx.sender
    alt = "" if ctx.targets else ctx.message.sender_alt
    key = member_key(ctx.group, jid, alt=alt)
    policy = _book(ctx).warn_settings(ctx.chat)
    rows = selectors.warnings_list(session_name=ctx.session_name, chat=ctx.chat, user=key, since=warnings_since(policy))
    if not rows:
        return ctx.reply(_("%(who)s has no warnings.") % {"who": mention(jid)}, mentions=[jid])
    lines = [_("%(who)s has %(n)d/%(limit)d warnings:") % {"who": mention(jid), "n": len(rows), "limit": policy.limit}]
    lines += [f"{i}. {row.at:%Y-%m-%d} {row.reason or _('(no reason)')}" for i, row in enumerate(rows, 1)]
    return ctx.reply("\n".join(lines), mentions=[jid])


@command(
    "resetwarn",
    aliases=("clearwarn", "delwarn"),
    category="moderation",
    help="Clear a member's warnings (same as .warn reset).",
    usage="@member",
    who="group_admin",
    where="group",
)
def resetwarn(ctx: CommandContext) -> list[Reply] | Reply:
    return _reset(ctx)
