"""Group changes on the message path: the cache kept current, welcome and goodbye messages.

Used by the router (``Router.handle_group_change``), inside the group's language.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.dispatch.context import mention
from bot.dispatch.groups import GroupCache
from bot.dispatch.state import ChatState
from bot.transport.base import GroupChange, Reply, jid_user


def group_change_replies(
    change: GroupChange, *, groups: GroupCache, state: ChatState, me: str
) -> tuple[list[Reply], str]:
    """The replies a join or leave gets, and the reason when it gets none (``me``: the bot's user part)."""
    groups.apply_change(change)
    state.refresh_if_stale()
    if me and any(jid_user(j) == me for j in change.left):
        groups.invalidate(change.chat)
        state.forget_group(change.chat)
        return [], "bot_left"
    if not state.welcome(change.chat):
        return [], "welcome_off"
    joined = [j for j in change.joined if jid_user(j) != me]
    left = [j for j in change.left if jid_user(j) != me]
    if not joined and not left:
        return [], "no_members"
    replies: list[Reply] = []
    if joined:
        group = groups.get(change.chat)  # cached; fetched only for a welcome group not seen lately
        name = change.name or (group.name if group else "") or _("the group")
        text = _("Welcome %(who)s to *%(group)s*! Say hi, and send %(prefix)smenu to see what I can do.") % {
            "who": " ".join(mention(j) for j in joined),
            "group": name,
            "prefix": state.prefix[0],
        }
        replies.append(Reply(kind="text", chat=change.chat, text=text, mentions=tuple(joined)))
    if left:
        text = _("Goodbye %(who)s. Take care!") % {"who": " ".join(mention(j) for j in left)}
        replies.append(Reply(kind="text", chat=change.chat, text=text, mentions=tuple(left)))
    return replies, "welcome"
