"""The child's self-fencing: leave WhatsApp and exit the moment the lease proof runs out.

Imported by the bot child only (``child/main.py`` wires it). The supervisor hands over a new
:class:`bot.fencing.Fence` with every lease renewal; when none came in time (the supervisor is paused,
hung, or cut off from the database) another worker may soon take the lease, and two connections on one
session make WhatsApp replace one of them. So this exits hard, without draining: replies still queued
stay in the outbox for the next owner, and the kernel closes the WhatsApp socket with the process.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from bot.fencing import Fence
from bot.heartbeat import ChildExit
from bot.models import ConnectionState as State

logger = logging.getLogger("bot.child.fence")

EXIT_SAFETY = 0.15  # seconds kept between the hard exit and the lease's bound


def fence_exit(runtime: Any, fence: Fence, *, clock: Any = time.monotonic, exit: Any = os._exit) -> None:
    """Disconnect and record ``stopped/fenced`` within the time left before ``exit_by``, then exit."""
    late = clock() - fence.deadline
    logger.error(
        "lease proof ran out; leaving WhatsApp",
        extra={"session": runtime.session_name, "fencing": fence.fencing, "late_s": round(late, 3)},
    )

    def leave() -> None:
        try:
            runtime.transport.stop()
        except Exception:
            logger.warning("transport stop failed while fencing", extra={"session": runtime.session_name})
        try:
            runtime._record(runtime.machine.begin(State.STOPPED, reason="fenced"))
        except Exception:
            logger.warning("recording the fenced stop failed", extra={"session": runtime.session_name})

    worker = threading.Thread(target=leave, name="fence-exit", daemon=True)
    worker.start()
    worker.join(max(0.0, fence.exit_by - EXIT_SAFETY - clock()))
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    exit(ChildExit.FENCED)
