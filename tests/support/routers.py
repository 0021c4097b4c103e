"""A router double for runtime tests and the event-thread benchmark: ``<prefix>ping`` -> ``pong``.

The runtime only needs ``handle`` and ``handle_group_change`` returning something with ``replies``,
``command`` and ``error``; this keeps runtime tests free of the command registry and the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.transport.base import GroupChange, IncomingMessage, Reply


@dataclass
class SimpleResult:
    replies: list[Reply] = field(default_factory=list)
    command: str | None = None
    error: bool = False


class PingRouter:
    def __init__(self, *, prefixes: str = ".") -> None:
        self.prefixes = prefixes or "."

    def handle(self, message: IncomingMessage) -> SimpleResult:
        text = message.text.strip()
        if message.from_me or not text or text[0] not in self.prefixes:
            return SimpleResult()
        name = text[1:].split(maxsplit=1)[0].lower() if len(text) > 1 else ""
        if name != "ping":
            return SimpleResult()
        latency_ms = max(0, int((time.time() - message.timestamp.timestamp()) * 1000))
        reply = Reply(kind="text", chat=message.chat, text=f"pong ({latency_ms} ms)", reply_to=message.id)
        return SimpleResult(replies=[reply], command="ping")

    def handle_group_change(self, change: GroupChange) -> SimpleResult:
        return SimpleResult()
