"""What the router decides for one message (``DispatchResult``) and how a handler's return becomes replies.

Imported with the router (``bot.dispatch.router`` re-exports ``DispatchResult``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.transport.base import Reply


@dataclass
class DispatchResult:
    """What the router decided for one message or group change."""

    replies: list[Reply] = field(default_factory=list)
    command: str | None = None  # the command whose handler ran (or crashed)
    error: bool = False  # the handler raised; replies hold the apology
    reason: str = ""  # why no handler ran: duplicate, own, no_prefix, banned, maintenance, unknown, ...
    matched: str | None = None  # the command the text named, even when it was refused
    wrong_usage: bool = False  # the handler answered with its usage line: no work done
    read: bool = False  # send the message a read receipt (a command with READ_RECEIPTS, a status viewed)


def as_list(produced: list[Reply] | Reply | None) -> list[Reply]:
    if produced is None:
        return []
    if isinstance(produced, Reply):
        return [produced]
    replies = list(produced)
    for item in replies:
        if not isinstance(item, Reply):
            raise TypeError(f"a handler returned {type(item).__name__}, not a Reply")
    return replies
