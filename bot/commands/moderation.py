"""Moderation commands for group admins: the antilink switch, warnings (greetings: ``greetings``).

Warnings are persisted; the third one removes the member (``WARNINGS_BEFORE_KICK``). The rules
that run on every message (antilink) are ``bot.dispatch.moderation``; these commands set them.
"""

from __future__ import annotations

from bot.commands._members import is_me, need_targets
from bot.dispatch import services
from bot.dispatch.context import CommandContext, mention
from bot.dispatch.moderation import WARNINGS_BEFORE_KICK, find_member, member_key, warn_member
from bot.dispatch.parsing import parse_on_off
from bot.dispatch.registry import command
from bot.transport.base import Reply


# -- switches ---------------------------------------------------------------------------------------------------
def _on_off(ctx: CommandContext) -> bool | None:
    return parse_on_off(ctx.args[0]) if ctx.args else None


@command(
    "antilink",
    category="group",
    help="Delete links sent by non-admins and warn the sender.",
    usage="on|off",
    who="group_admin",
    where="group",
)
def antilink(ctx: CommandContext) -> Reply:
    value = _on_off(ctx)
    if value is None:
        state = "on" if ctx.state.antilink(ctx.chat) else "off"
        return ctx.reply(f"Antilink is {state}. {ctx.usage()}")
    ctx.state.set_group(ctx.chat, antilink=value)
    if not value:
        return ctx.reply("Antilink off.")
    note = "" if ctx.bot_is_admin else " Make me an admin so I can delete them; until then I can only warn."
    return ctx.reply(
        f"Antilink on: links from non-admins are deleted and warned ({WARNINGS_BEFORE_KICK} warnings = removed).{note}"
    )


# -- warnings ------------------------------------------------------------------------------------------------------
@command(
    "warn",
    category="group",
    help="Warn a member; 3 warnings remove them.",
    usage="@member [reason]",
    who="group_admin",
    where="group",
)
def warn(ctx: CommandContext) -> list[Reply] | Reply:
    missing = need_targets(ctx)
    if missing:
        return missing
    reason = " ".join(a for a in ctx.args if not a.startswith("@")).strip()
    replies: list[Reply] = []
    for jid in ctx.targets:
        member = find_member(ctx.group, jid)
        if is_me(ctx, jid):
            replies.append(ctx.reply("I won't warn myself."))
        elif member is not None and member.admin:
            replies.append(ctx.reply(f"{mention(jid)} is an admin; admins can't be warned.", mentions=[jid]))
        elif member_key(ctx.group, jid) in ctx.owners:
            replies.append(ctx.reply(f"{mention(jid)} is the bot owner.", mentions=[jid]))
        else:
            replies += warn_member(
                session_name=ctx.session_name,
                bot_jid=ctx.bot_jid,
                chat=ctx.chat,
                group=ctx.group,
                jid=jid,
                reason=reason,
                given_by=ctx.user_key,
            )
    return replies


@command(
    "warnings",
    aliases=("warns",),
    category="group",
    help="How many warnings a member has (yours without a mention).",
    usage="[@member]",
    where="group",
)
def warnings(ctx: CommandContext) -> Reply:
    from bot.dispatch import selectors

    jid = ctx.targets[0] if ctx.targets else ctx.sender
    alt = "" if ctx.targets else ctx.message.sender_alt
    key = member_key(ctx.group, jid, alt=alt)
    rows = selectors.warnings_list(session_name=ctx.session_name, chat=ctx.chat, user=key)
    if not rows:
        return ctx.reply(f"{mention(jid)} has no warnings.", mentions=[jid])
    lines = [f"{mention(jid)} has {len(rows)}/{WARNINGS_BEFORE_KICK} warnings:"]
    lines += [f"{i}. {row.at:%Y-%m-%d} {row.reason or '(no reason)'}" for i, row in enumerate(rows, 1)]
    return ctx.reply("\n".join(lines), mentions=[jid])


@command(
    "resetwarn",
    aliases=("clearwarn", "delwarn"),
    category="group",
    help="Clear a member's warnings.",
    usage="@member",
    who="group_admin",
    where="group",
)
def resetwarn(ctx: CommandContext) -> list[Reply] | Reply:
    missing = need_targets(ctx)
    if missing:
        return missing
    replies = []
    for jid in ctx.targets:
        removed = services.warnings_reset(session_name=ctx.session_name, chat=ctx.chat, user=member_key(ctx.group, jid))
        replies.append(ctx.reply(f"Cleared {removed} warning(s) of {mention(jid)}.", mentions=[jid]))
    return replies
