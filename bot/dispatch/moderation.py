"""Moderation on the message path: who a member is for warnings, warnings that end in removal, antilink.

Used by the router (antilink runs before any command) and by the group commands (``.warn``), so
it lives with the dispatcher, not in a command module the router would have to import.
"""

from __future__ import annotations

from bot.dispatch import services
from bot.dispatch.context import mention
from bot.transport.base import GroupInfo, IncomingMessage, Participant, Reply, jid_user

WARNINGS_BEFORE_KICK = services.WARNINGS_BEFORE_KICK


def find_member(group: GroupInfo | None, jid: str) -> Participant | None:
    if group is None or not jid:
        return None
    user = jid_user(jid)
    for p in group.participants:
        if user in {jid_user(p.jid), jid_user(p.lid) if p.lid else "", p.phone}:
            return p
    return None


def member_key(group: GroupInfo | None, jid: str, *, alt: str = "") -> str:
    """One stable key per person for warnings: phone digits when known (a LID and a phone JID of the
    same member give the same key), else the JID's user part."""
    for candidate in (jid, alt):
        p = find_member(group, candidate)
        if p is not None and p.phone:
            return p.phone
    for candidate in (jid, alt):
        if candidate.endswith("@s.whatsapp.net"):
            return jid_user(candidate)
    return jid_user(jid)


def warn_member(
    *,
    session_name: str,
    bot_jid: str,
    chat: str,
    group: GroupInfo | None,
    jid: str,
    alt: str = "",
    reason: str,
    given_by: str,
) -> list[Reply]:
    """Record a warning; at the limit remove the member (when the bot is admin) and clear their warnings."""
    key = member_key(group, jid, alt=alt)
    count = services.warning_create(
        session_name=session_name, chat=chat, user=key, reason=reason, given_by=given_by
    )
    who = mention(jid)
    why = f" Reason: {reason}." if reason else ""
    if count < WARNINGS_BEFORE_KICK:
        text = f"{who} warning {count}/{WARNINGS_BEFORE_KICK}.{why}"
        return [Reply(kind="text", chat=chat, text=text, mentions=(jid,))]
    bot_admin = bool(group and group.is_admin(bot_jid))
    if not bot_admin:
        text = f"{who} has {count}/{WARNINGS_BEFORE_KICK} warnings and should be removed, but I am not a group admin."
        return [Reply(kind="text", chat=chat, text=text, mentions=(jid,))]
    services.warnings_reset(session_name=session_name, chat=chat, user=key)
    member = find_member(group, jid)
    target = member.jid if member is not None else jid
    return [
        Reply(
            kind="text",
            chat=chat,
            text=f"{who} reached {WARNINGS_BEFORE_KICK} warnings and is removed.{why}",
            mentions=(jid,),
        ),
        Reply(kind="group", chat=chat, action="remove", targets=(target,)),
    ]


def antilink_replies(*, session_name: str, bot_jid: str, message: IncomingMessage, group: GroupInfo) -> list[Reply]:
    """A non-admin posted a link in an antilink group: delete it (if the bot is admin) and warn."""
    replies: list[Reply] = []
    bot_admin = group.is_admin(bot_jid)
    if bot_admin:
        replies.append(Reply(kind="delete", chat=message.chat, reply_to=message.id, target=message.sender))
    replies += warn_member(
        session_name=session_name,
        bot_jid=bot_jid,
        chat=message.chat,
        group=group,
        jid=message.sender,
        alt=message.sender_alt,
        reason="sent a link (antilink is on)",
        given_by="antilink",
    )
    return replies
