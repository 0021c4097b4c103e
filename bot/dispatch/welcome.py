"""Group changes on the message path: the cache kept current, antifake on joins, then the greetings
(``bot.dispatch.greetings``).

Used by the router (``Router.handle_group_change``), inside the group's language. The moderator sees
a join first, so a member it removes gets no welcome.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from bot.dispatch.greetings import greeting_replies
from bot.dispatch.groups import GroupCache
from bot.dispatch.state import ChatState
from bot.transport.base import GroupChange, Reply, jid_user

if TYPE_CHECKING:
    from bot.dispatch.moderator import Moderator


def group_change_replies(
    change: GroupChange, *, groups: GroupCache, state: ChatState, me: str, moderator: Moderator | None = None
) -> tuple[list[Reply], str]:
    """The replies a join, leave, promotion or demotion gets, and why (``me``: the bot's user part)."""
    groups.apply_change(change)
    state.refresh_if_stale()
    if me and any(jid_user(j) == me for j in change.left):
        groups.invalidate(change.chat)
        state.forget_group(change.chat)
        return [], "bot_left"
    acted, removed = moderator.on_join(change) if moderator is not None else ([], set())
    if removed:  # no welcome for a member the moderator removes
        change = replace(change, joined=tuple(j for j in change.joined if j not in removed))
    replies, reason = greeting_replies(
        change,
        session_name=state.session_name,
        welcome_on=state.welcome(change.chat),
        groups=groups,
        me=me,
        prefix=state.prefix[0],
    )
    return acted + replies, reason if replies or not acted else "moderation"
