"""Which messages get a read receipt: commands (READ_RECEIPTS) and contacts' statuses (AUTO_STATUS_VIEW).

Imported by ``bot.dispatch.router``, which sets ``DispatchResult.read``; the child sends the
receipts after the batch's replies are queued (``bot.child.receipts``). Viewing statuses is
opt-in; STATUS_VIEW_DENY always wins, and a non-empty STATUS_VIEW_ALLOW limits it to those numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.transport.base import IncomingMessage

STATUS_CHAT = "status@broadcast"  # where contacts' status updates arrive
VIEWED_KINDS = frozenset({"text", "image", "video", "audio", "document", "sticker"})  # a status one can look at


@dataclass(frozen=True)
class ReceiptPolicy:
    commands: bool = False
    statuses: bool = False
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls, *, commands: bool, statuses: bool, allow: Iterable[str] = (), deny: Iterable[str] = ()
    ) -> ReceiptPolicy:
        return cls(commands=commands, statuses=statuses, allow=frozenset(allow), deny=frozenset(deny))

    @classmethod
    def read(cls, value: Callable[[str], Any]) -> ReceiptPolicy:
        """From the session's settings now (``value``: a variable's value by name)."""
        return cls.build(
            commands=value("READ_RECEIPTS"),
            statuses=value("AUTO_STATUS_VIEW"),
            allow=value("STATUS_VIEW_ALLOW"),
            deny=value("STATUS_VIEW_DENY"),
        )

    def view_status(self, message: IncomingMessage) -> bool:
        """True when this status update should be marked viewed."""
        if not self.statuses or message.from_me or message.kind not in VIEWED_KINDS:
            return False
        phone = message.sender_phone
        if phone in self.deny:
            return False
        return not self.allow or phone in self.allow
