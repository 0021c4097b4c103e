"""Group changes on the message path: the cache kept current, then the greetings (``bot.dispatch.greetings``).

Used by the router (``Router.handle_group_change``), inside the group's language.
"""

from __future__ import annotations

from bot.dispatch.greetings import greeting_replies
from bot.dispatch.groups import GroupCache
from bot.dispatch.state import ChatState
from bot.transport.base import GroupChange, Reply, jid_user


def group_change_replies(
    change: GroupChange, *, groups: GroupCache, state: ChatState, me: str
) -> tuple[list[Reply], str]:
    """The replies a join, leave, promotion or demotion gets, and why (``me``: the bot's user part)."""
    groups.apply_change(change)
    state.refresh_if_stale()
    if me and any(jid_user(j) == me for j in change.left):
        groups.invalidate(change.chat)
        state.forget_group(change.chat)
        return [], "bot_left"
    return greeting_replies(
        change,
        session_name=state.session_name,
        welcome_on=state.welcome(change.chat),
        groups=groups,
        me=me,
        prefix=state.prefix[0],
    )
