"""A stand-in for ``bot.transport.neonize.client`` in runbot process tests (see ``runbot_site/sitecustomize.py``).

It behaves like whatsmeow as far as the supervisor can tell: a store holding a device connects
(``connected``, with the device JID in the child's log), a store without one shows a QR. It reads the
session's real live store, so the restore chain the supervisor ran decides what happens.

With ``RUNBOT_FAKE_CONSOLE=1`` the connected session is served by the console transport's own code
(stdin lines in, JSON lines out): a steady stream of commands on a session the supervisor backs up.
"""

from __future__ import annotations

import logging
import os

from bot.transport.base import ConnectionSignal, Transport
from bot.transport.console import ConsoleTransport
from tests.support.memory_transport import MemoryTransport

logger = logging.getLogger("runbot_fake_neonize")


def _device_jid(session_name: str) -> str:
    from sessions_store.store import store_for

    jid = store_for(session_name).health().device_jid
    if jid:
        logger.warning("fake neonize connected", extra={"device_jid": jid, "pid": os.getpid()})
    else:
        logger.warning("fake neonize: no device in the store; showing a QR", extra={"pid": os.getpid()})
    return jid


class MemorySession(MemoryTransport):
    """Connects when the store holds a device, else shows a QR and waits (as whatsmeow would).

    ``RUNBOT_FAKE_LIVENESS=answer`` makes it answer liveness questions, ``=deaf`` makes it a socket
    that stays "connected" and answers nothing (the failure the round trip exists for).
    """

    def __init__(self, *, session_name: str) -> None:
        super().__init__()
        self.session_name = session_name
        mode = os.environ.get("RUNBOT_FAKE_LIVENESS", "")
        self.supports_liveness = mode in {"answer", "deaf"}
        self.answer_probes(mode == "answer")

    def probe(self, token: str) -> None:
        logger.warning("fake neonize asked", extra={"token": token, "answering": self.answering, "pid": os.getpid()})
        super().probe(token)

    def connect(self) -> None:
        jid = _device_jid(self.session_name)
        if not jid:
            self.on_signal(ConnectionSignal(kind="qr", detail={"code": "2@fake,qr", "valid_for": 60.0}))
            self._stopped.wait()
            return
        self._me = jid
        super().connect()


class ConsoleSession(ConsoleTransport):
    """The console transport on a paired session; logs how many lines it read when it stops."""

    def __init__(self, *, session_name: str) -> None:
        super().__init__()
        self.session_name = session_name

    def connect(self) -> None:
        if not _device_jid(self.session_name):
            self.on_signal(ConnectionSignal(kind="qr", detail={"code": "2@fake,qr", "valid_for": 60.0}))
            self._stop.wait()
            return
        try:
            super().connect()
        finally:  # on the connector thread, after the last on_message: the counts are final
            logger.warning("fake console done", extra={"lines_read": self.lines_read, "bad_lines": self.bad_lines})


def NeonizeTransport(  # noqa: N802 - stands in for the real class of that name
    *, session_name: str, dsn: str, log_level: str = "INFO", pair_phone: str = "", proxy: str = ""
) -> Transport:
    """Built by ``build_transport("neonize")`` with the same arguments as the real one."""
    if os.environ.get("RUNBOT_FAKE_CONSOLE") == "1":
        return ConsoleSession(session_name=session_name)
    return MemorySession(session_name=session_name)
