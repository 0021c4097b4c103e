"""``runbot --child``: build the transport and the runtime, install the signal handlers, run.

The supervisor starts this as a fresh subprocess with a heartbeat pipe; the return value is a
``ChildExit`` code that tells the supervisor what to do next.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import time
from typing import Any

from django.conf import settings
from django.db import connection

from bot.child.fence import fence_exit
from bot.child.memory import MemoryGuard, release_memory
from bot.child.runtime import BotRuntime
from bot.child.session_hooks import SessionHooks
from bot.child.transports import UnknownTransport, transport_build, transport_preload
from bot.fencing import FenceWatch
from bot.heartbeat import BeatWriter, ChildExit
from bot.transport.base import SESSION_TRANSPORTS
from bot.warm_start import go_wait

logger = logging.getLogger("bot.runbot")


FIRST_FENCE_TIMEOUT = 10.0  # the supervisor writes the first fence right after starting us


def child_run(
    *,
    session_name: str,
    transport_name: str,
    pair_phone: str,
    heartbeat_fd: int | None,
    heartbeat_interval: float,
    fence_fd: int | None = None,
    fencing: int | None = None,
    deaf_restarts: bool = True,
    confirm_logout: bool = False,
) -> int:
    """Run one bot child until it stops; returns its exit code.

    ``confirm_logout``: this child reconnects to confirm a logout seen right after a 515
    (:mod:`bot.child.misread`): a logout now is final.

    With ``fence_fd`` (a leased session) the child connects only once it holds a first fence and
    exits hard when the last one runs out (:mod:`bot.child.fence`).
    """
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
    hooks = SessionHooks(session_name=session_name, fencing=fencing) if transport_name in SESSION_TRANSPORTS else None
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
        deaf_restarts=deaf_restarts,
    )
    runtime.machine.confirming_logout = confirm_logout

    watch = None
    if fence_fd is not None:
        watch = FenceWatch(
            fence_fd,
            on_expired=lambda fence: fence_exit(runtime, fence),
            on_closed=lambda: runtime.request_stop(reason="supervisor_gone"),
        ).start()
        first = watch.wait_first(FIRST_FENCE_TIMEOUT)
        if first is None or first.deadline <= time.monotonic():
            logger.error("no lease proof from the supervisor; not connecting", extra={"session": session_name})
            watch.stop()
            return ChildExit.FENCED
        if fencing is not None and first.fencing != fencing:
            logger.error(
                "lease proof for another lease; not connecting",
                extra={"session": session_name, "fencing": first.fencing, "expected": fencing},
            )
            watch.stop()  # its deadline is not ours to act on
            return ChildExit.FENCED
        runtime.fencing = first.fencing if fencing is None else fencing

    def stop(signum: int, frame: Any) -> None:
        runtime.request_stop(reason=signal.Signals(signum).name.lower())

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return runtime.run()
    finally:
        if watch is not None:
            watch.stop()
        if webhooks is not None:
            webhooks.close(timeout=2.0)
        if beats is not None:
            beats.close()
        _write_what_waits(session_name=session_name)
        connection.close()


def child_warm_run(*, warm_fd: int, transport_name: str, heartbeat_fd: int | None, heartbeat_interval: float,
                   fence_fd: int | None) -> int:  # fmt: skip
    """A standby's pre-warmed child: import everything, wait for the supervisor's order, then run as ordered.

    Until the order it touches nothing (no query, no store, no dial: :mod:`bot.warm_start`); it leaves
    with ``DONE`` when its supervisor goes first. The order is no lease proof: :func:`child_run` waits for
    the first fence as for any child, and a fence for another lease than the order's is refused.
    """
    parent = os.getppid()
    # Ctrl-C reaches the whole terminal's process group: the supervisor decides, and closes our pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        transport_preload(transport_name)
        child_modules_preload()
    except (UnknownTransport, ImportError, AttributeError) as exc:
        logger.error("cannot load the transport", extra={"transport": transport_name, "error": str(exc)})
        return ChildExit.USAGE
    release_memory()  # the imports' garbage back to the OS before the long wait
    logger.info("pre-warmed bot child ready; it waits for the lease", extra={"pid": os.getpid()})
    go = go_wait(warm_fd, parent=parent)
    if go is None:
        return ChildExit.DONE
    if fence_fd is None:
        logger.error("a pre-warmed child needs a fence pipe; not connecting", extra={"session": go.session_name})
        return ChildExit.FENCED
    return child_run(
        session_name=go.session_name,
        transport_name=transport_name,
        pair_phone=go.pair_phone,
        heartbeat_fd=heartbeat_fd,
        heartbeat_interval=heartbeat_interval,
        fence_fd=fence_fd,
        fencing=go.fencing,
        deaf_restarts=go.deaf_restarts,
        confirm_logout=go.confirm_logout,
    )


def child_modules_preload() -> None:
    """What building a runtime and its router imports lazily, imported now (no query, no state)."""
    for name in ("bot.dispatch", "bot.dispatch.groups", "bot.dispatch.limits", "bot.dispatch.outbound",
                 "bot.dispatch.state", "bot.outbox", "bot.child.session_hooks", "sessions_store.services"):  # fmt: skip
        importlib.import_module(name)


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
