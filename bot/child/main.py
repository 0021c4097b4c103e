"""``runbot --child``: build the transport and the runtime, install the signal handlers, run.

The supervisor starts this as a fresh subprocess with a heartbeat pipe; the return value is a
``ChildExit`` code that tells the supervisor what to do next.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from django.conf import settings
from django.db import connection

from bot.child.memory import MemoryGuard
from bot.child.runtime import BotRuntime
from bot.child.session_hooks import SessionHooks
from bot.child.transports import UnknownTransport, transport_build
from bot.heartbeat import BeatWriter, ChildExit
from bot.transport.base import SESSION_TRANSPORTS

logger = logging.getLogger("bot.runbot")


def child_run(
    *, session_name: str, transport_name: str, pair_phone: str, heartbeat_fd: int | None, heartbeat_interval: float
) -> int:
    """Run one bot child until it stops; returns its exit code."""
    beats = BeatWriter(heartbeat_fd) if heartbeat_fd is not None else None
    try:
        transport = transport_build(transport_name, session_name=session_name, pair_phone=pair_phone)
    except (UnknownTransport, ImportError, AttributeError) as exc:
        logger.error("cannot build the transport", extra={"transport": transport_name, "error": str(exc)})
        return ChildExit.USAGE
    webhooks = None
    if settings.CONNECTION_WEBHOOK_URL:
        from bot.webhooks import WebhookSender

        webhooks = WebhookSender()
    hooks = SessionHooks(session_name=session_name) if transport_name in SESSION_TRANSPORTS else None
    runtime = BotRuntime(
        transport=transport,
        session_name=session_name,
        beats=beats,
        memory_guard=MemoryGuard(limit_mb=settings.MEMORY_LIMIT_MB),
        webhooks=webhooks,
        heartbeat_interval=heartbeat_interval,
        on_qr=hooks.on_qr if hooks else None,
        on_paired=hooks.on_paired if hooks else None,
        on_connected=hooks.on_connected if hooks else None,
        on_terminal=hooks.on_terminal if hooks else None,
    )

    def stop(signum: int, frame: Any) -> None:
        runtime.request_stop(reason=signal.Signals(signum).name.lower())

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return runtime.run()
    finally:
        if webhooks is not None:
            webhooks.close(timeout=2.0)
        if beats is not None:
            beats.close()
        _write_what_waits(session_name=session_name)
        connection.close()


def _write_what_waits(*, session_name: str) -> None:
    """The writes an outage held back, once more before exit (briefly); what stays unwritten is said."""
    from blacksky_site.db_deadline import db_deadline
    from bot.db_buffer import outage_watch, write_buffer

    buffer = write_buffer()
    if buffer.pending and not outage_watch().down:
        with db_deadline(seconds=3.0):
            buffer.drain()
    if buffer.pending or buffer.lost:
        logger.warning(
            "bot child exits with database writes lost",
            extra={"session": session_name, "unwritten": buffer.pending, "lost": buffer.lost},
        )
