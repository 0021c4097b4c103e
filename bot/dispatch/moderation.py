"""Who a member is for warnings, and warnings that end in removal; used by the moderator and ``.warn``.

It lives with the dispatcher (the moderator runs before any command), not in a command module the
router would have to import. A group's policy (``WarnSettings``: the limit, the template, the decay)
comes from the rule book; warnings older than the decay do not count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from bot.dispatch import services
from bot.dispatch.context import mention
from bot.dispatch.rulebook import WarnSettings
from bot.moderation_settings import template_render
from bot.transport.base import GroupInfo, Participant, Reply, jid_user


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


def warnings_since(policy: WarnSettings, *, now: datetime | None = None) -> datetime | None:
    """The oldest warning that still counts (None: they never fade)."""
    if not policy.decay_days:
        return None
    return (now or timezone.now()) - timedelta(days=policy.decay_days)


@dataclass(frozen=True)
class WarnOutcome:
    replies: list[Reply] = field(default_factory=list)
    count: int = 0
    limit: int = 0
    removed: bool = False  # the limit was reached and the member is being removed


def warning_text(policy: WarnSettings, *, who: str, count: int) -> str:
    template = policy.template or _("{mention} warning {count}/{limit}.")
    return template_render(template, mention=who, count=count, limit=policy.limit)


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
    policy: WarnSettings,
) -> WarnOutcome:
    """Record a warning; at the group's limit remove the member (when the bot is admin) and clear their warnings."""
    key = member_key(group, jid, alt=alt)
    count = services.warning_create(
        session_name=session_name,
        chat=chat,
        user=key,
        reason=reason,
        given_by=given_by,
        since=warnings_since(policy),
    )
    who = mention(jid)
    why = (" " + _("Reason: %(reason)s.") % {"reason": reason}) if reason else ""
    if count < policy.limit:
        text = warning_text(policy, who=who, count=count) + why
        return WarnOutcome([Reply(kind="text", chat=chat, text=text, mentions=(jid,))], count, policy.limit)
    if not (group and group.is_admin(bot_jid)):
        text = _("%(who)s has %(count)d/%(limit)d warnings and should be removed, but I am not a group admin.") % {
            "who": who,
            "count": count,
            "limit": policy.limit,
        }
        return WarnOutcome([Reply(kind="text", chat=chat, text=text, mentions=(jid,))], count, policy.limit)
    services.warnings_reset(session_name=session_name, chat=chat, user=key)
    member = find_member(group, jid)
    target = member.jid if member is not None else jid
    text = _("%(who)s reached %(limit)d warnings and is removed.") % {"who": who, "limit": policy.limit}
    replies = [
        Reply(kind="text", chat=chat, text=text + why, mentions=(jid,)),
        Reply(kind="group", chat=chat, action="remove", targets=(target,)),
    ]
    return WarnOutcome(replies, count, policy.limit, removed=True)
