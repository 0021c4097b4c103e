"""An in-memory transport for tests and benchmarks: messages are injected, sends are recorded."""

from __future__ import annotations

import itertools
import threading

from bot.transport.base import (
    ConnectionSignal,
    GroupChange,
    GroupInfo,
    IncomingMessage,
    LivenessPong,
    Reply,
    SendResult,
    Transport,
    TransportError,
)


class MemoryTransport(Transport):
    """Records every action; ``groups`` holds the simulated group metadata; ``fail_with`` makes sends fail.

    Like WhatsApp's server, a send under a ``message_id`` already delivered is one message, not two.
    """

    fixes_message_ids = True

    def __init__(self, *, me: str = "10000000001@s.whatsapp.net") -> None:
        super().__init__()
        self._me = me
        self.sent: list[Reply] = []
        self.presences: list[tuple[str, bool]] = []
        self.groups: dict[str, GroupInfo] = {}
        self.group_info_calls = 0
        self.fail_with: TransportError | None = None
        self.delivered_ids: set[str] = set()
        self._ids = itertools.count(1)
        self._stopped = threading.Event()
        self.connected = False
        self.answering = True  # liveness questions get an answer (False: a socket that went deaf)
        self.probes: list[str] = []

    # -- driving it from a test -------------------------------------------------------------
    def deliver(self, message: IncomingMessage) -> None:
        self.on_message(message)

    def signal(self, signal: ConnectionSignal) -> None:
        self.on_signal(signal)

    def group_change(self, change: GroupChange) -> None:
        self.on_group_change(change)

    def answer_probes(self, answering: bool, *, primary_linked: bool | None = True) -> None:
        self.answering = answering
        self.primary_linked = primary_linked

    primary_linked: bool | None = True

    def probe(self, token: str) -> None:
        """Answers on its own thread, as a real transport's event thread would (when ``answering``)."""
        self.probes.append(token)
        if self.answering:
            pong = LivenessPong(token=token, primary_linked=self.primary_linked)
            threading.Thread(target=self.on_liveness, args=(pong,), daemon=True).start()

    # -- Transport ----------------------------------------------------------------------------
    def connect(self) -> None:
        self.connected = True
        self.on_signal(ConnectionSignal(kind="connected"))
        self._stopped.wait()
        self.connected = False

    def stop(self) -> None:
        self._stopped.set()

    def send(self, reply: Reply) -> SendResult:
        if self.fail_with is not None:
            raise self.fail_with
        if reply.message_id and reply.message_id in self.delivered_ids:
            return SendResult(id=reply.message_id, detail={"duplicate": True})
        self.sent.append(reply)
        message_id = reply.message_id or f"MEM{next(self._ids):08d}"
        self.delivered_ids.add(message_id)
        return SendResult(id=message_id)

    def send_presence(self, chat: str, *, composing: bool) -> None:
        self.presences.append((chat, composing))

    def group_info(self, chat: str) -> GroupInfo:
        self.group_info_calls += 1
        try:
            return self.groups[chat]
        except KeyError:
            raise TransportError(f"unknown group {chat}") from None

    def me(self) -> str:
        return self._me
