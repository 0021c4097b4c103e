"""What the bot does about a hit: the one decision every rule shares, pure and tested by a table.

Actions: ``delete`` removes the message; ``warn`` removes it and warns the member (the group's
limit of warnings removes them); ``kick`` removes the message and the member; ``none`` only
records the hit. Admins and owners are exempt; without being a group admin the bot does nothing
but say so, once per group (``told``), and records nothing it did not do.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    delete: bool = False  # revoke the message
    warn: bool = False  # give a warning (the limit removes the member)
    kick: bool = False  # remove the member now
    log: bool = False  # write a log row (or add to the flood's row when ``reason`` is 'ongoing')
    notice: bool = False  # tell the group, once, that the bot needs to be admin
    reason: str = ""


def decide(*, action: str, on_message: bool, ongoing: bool, exempt: bool, bot_admin: bool, told: bool) -> Decision:
    """A hit's consequences: ``on_message`` (a message, so there is one to delete) or a join."""
    if exempt:
        return Decision(reason="exempt")
    if action == "none":
        return Decision(log=True, reason="ongoing" if ongoing else "watch")
    if not bot_admin:
        return Decision(notice=not told, reason="bot_not_admin")
    if ongoing:
        return Decision(delete=on_message, log=True, reason="ongoing")
    return Decision(delete=on_message, warn=action == "warn", kick=action == "kick", log=True, reason=action)
