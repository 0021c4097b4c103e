"""Greetings on group changes: welcome (optionally with the group's picture), goodbye and promote/demote
notices, from each group's templates. Imported by the bot child (the router and the greeting commands).

The welcome switch stays ``GroupSettings.welcome`` (``ChatState``); templates and the other switches
are a ``GreetingSettings`` row, read once per group change (rare next to messages). Goodbyes follow
the welcome switch unless a group set them on or off; role notices are opt-in and skip changes the
bot made itself (its own command already said so).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import mention
from bot.dispatch.groups import GroupCache
from bot.greeting_templates import template_render, template_uses
from bot.models import GreetingSettings
from bot.transport.base import GROUP_PICTURE_ASSET, USER_SERVER, GroupChange, GroupInfo, Reply, jid_server, jid_user

GROUP_PLACEHOLDERS = ("group", "desc", "count", "name")


# -- the row ----------------------------------------------------------------------------------------------------
def greeting_settings_get(*, session_name: str, chat: str) -> GreetingSettings:
    """The group's row, or an unsaved one with the defaults."""
    row = GreetingSettings.objects.filter(session_name=session_name, chat=chat).first()
    return row or GreetingSettings(session_name=session_name, chat=chat)


def greeting_settings_update(*, session_name: str, chat: str, **fields: object) -> GreetingSettings:
    row, _created = GreetingSettings.objects.update_or_create(session_name=session_name, chat=chat, defaults=fields)
    return row


# -- texts ----------------------------------------------------------------------------------------------------------
def member_name(jid: str, group: GroupInfo | None) -> str:
    """What {name} says: WhatsApp's display name, else the phone number, else the mention."""
    user = jid_user(jid)
    for p in group.participants if group else ():
        if user in (jid_user(p.jid), jid_user(p.lid) if p.lid else "", p.phone):
            if p.name:
                return p.name
            if p.phone:
                return f"+{p.phone}"
    return f"+{user}" if jid_server(jid) == USER_SERVER else mention(jid)


def greeting_values(members: list[str], *, group: GroupInfo | None, group_name: str = "") -> dict[str, str]:
    return {
        "mention": " ".join(mention(j) for j in members),
        "name": ", ".join(member_name(j, group) for j in members),
        "group": (group.name if group else "") or group_name or _("the group"),
        "desc": group.topic if group else "",
        "count": str(len(group.participants)) if group else "",
    }


def welcome_reply(
    chat: str, members: list[str], *, row: GreetingSettings, group: GroupInfo | None, prefix: str, group_name: str = ""
) -> Reply:
    """The welcome for ``members``: the group's template or the built-in sentence, with the picture when asked."""
    values = greeting_values(members, group=group, group_name=group_name)
    if row.welcome_text:
        text = template_render(row.welcome_text, values)
    else:
        text = _("Welcome %(who)s to *%(group)s*! Say hi, and send %(prefix)smenu to see what I can do.") % {
            "who": values["mention"],
            "group": values["group"],
            "prefix": prefix,
        }
    if row.with_image:
        return Reply(kind="image", chat=chat, text=text, asset=GROUP_PICTURE_ASSET, mentions=tuple(members))
    return Reply(kind="text", chat=chat, text=text, mentions=tuple(members))


def goodbye_reply(chat: str, members: list[str], *, row: GreetingSettings, group: GroupInfo | None) -> Reply:
    if row.goodbye_text:
        text = template_render(row.goodbye_text, greeting_values(members, group=group))
    else:
        text = _("Goodbye %(who)s. Take care!") % {"who": " ".join(mention(j) for j in members)}
    return Reply(kind="text", chat=chat, text=text, mentions=tuple(members))


def role_replies(change: GroupChange, *, me: str) -> list[Reply]:
    replies = []
    for members, sentence in (
        ([j for j in change.promoted if jid_user(j) != me], _("%(who)s is now an admin.")),
        ([j for j in change.demoted if jid_user(j) != me], _("%(who)s is no longer an admin.")),
    ):
        if members:
            who = " ".join(mention(j) for j in members)
            replies.append(Reply(kind="text", chat=change.chat, text=sentence % {"who": who}, mentions=tuple(members)))
    return replies


# -- the router's step -------------------------------------------------------------------------------------------------
def greeting_replies(
    change: GroupChange, *, session_name: str, welcome_on: bool, groups: GroupCache, me: str, prefix: str
) -> tuple[list[Reply], str]:
    """What to say about ``change`` (the bot's own comings and goings left out), and why (a reason word)."""
    joined = [j for j in change.joined if jid_user(j) != me]
    left = [j for j in change.left if jid_user(j) != me]
    roles = bool(change.promoted or change.demoted) and not (me and jid_user(change.actor) == me)
    if not joined and not left and not roles:
        return [], "no_members"
    if not welcome_on and not roles and not left:
        return [], "welcome_off"
    row = greeting_settings_get(session_name=session_name, chat=change.chat)
    goodbye_on = welcome_on if row.goodbye is None else row.goodbye
    replies: list[Reply] = []
    if joined and welcome_on:
        group = groups.get(change.chat)  # cached; fetched only for a welcome group not seen lately
        replies.append(
            welcome_reply(change.chat, joined, row=row, group=group, prefix=prefix, group_name=change.name or "")
        )
    if left and goodbye_on:
        group = groups.get(change.chat) if template_uses(row.goodbye_text, *GROUP_PLACEHOLDERS) else None
        replies.append(goodbye_reply(change.chat, left, row=row, group=group))
    if roles and row.role_notices:
        replies.extend(role_replies(change, me=me))
    return replies, "welcome" if replies else "welcome_off"
