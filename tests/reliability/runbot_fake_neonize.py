"""A stand-in for ``bot.transport.neonize`` in runbot process tests (see ``runbot_site/sitecustomize.py``).

It behaves like whatsmeow as far as the supervisor can tell: a store holding a device connects
(``connected``, with the device JID in the child's log), a store without one shows a QR. It reads the
session's real live store, so the restore chain the supervisor ran decides what happens.
"""

from __future__ import annotations

import logging
import os

from bot.transport.base import ConnectionSignal
from bot.transport.memory import MemoryTransport

logger = logging.getLogger("runbot_fake_neonize")


class NeonizeTransport(MemoryTransport):
    """Built by ``build_transport("neonize")`` with the same arguments as the real one."""

    def __init__(self, *, session_name: str, dsn: str, log_level: str = "INFO", pair_phone: str = "", proxy: str = ""):
        super().__init__()
        self.session_name = session_name
        self.dsn = dsn

    def connect(self) -> None:
        from sessions_store.store import store_for

        jid = store_for(self.session_name).health().device_jid
        if not jid:
            logger.warning("fake neonize: no device in the store; showing a QR", extra={"pid": os.getpid()})
            self.on_signal(ConnectionSignal(kind="qr", detail={"code": "2@fake,qr", "valid_for": 60.0}))
            self._stopped.wait()
            return
        logger.warning("fake neonize connected", extra={"device_jid": jid, "pid": os.getpid()})
        self._me = jid
        super().connect()
