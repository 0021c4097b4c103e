"""The child's heartbeat thread: judge progress, sample memory, beat to the supervisor, flush stats.

A mixin of :class:`bot.child.runtime.BotRuntime`. A beat the supervisor cannot read means it is
gone: the child stops rather than stay connected as an orphan beside a standby's child.
"""

from __future__ import annotations

import logging
import os
import time

from django.db import connection

from blacksky_site.tempfiles import dir_usage, process_temp_dir
from bot.child.memory import rss_bytes
from bot.heartbeat import Beat, ChildExit
from bot.models import ConnectionState as State

logger = logging.getLogger("bot.child.runtime")


class Beating:
    """Needs ``machine``, ``transport``, ``progress``, ``memory_guard``, ``stats``, ``beats``."""

    def beat(self) -> Beat:
        """Sample memory, judge progress and build one heartbeat (also used by tests)."""
        if self.machine.state == State.CONNECTED:
            try:
                if self.transport.healthy():
                    self.progress.touch()
            except Exception:
                logger.exception("transport health check failed")
        rss, level = 0, "ok"
        if self.memory_guard is not None:
            reading = self.memory_guard.check()
            rss, level = reading.rss, reading.level
        else:
            rss = rss_bytes()
        self.stats.rss(rss)
        totals = self.stats.totals
        return Beat(
            pid=os.getpid(),
            state=self.machine.state.value,
            stalled_for=round(self.progress.stalled_for(), 3),
            rss_bytes=rss,
            memory_level=level,
            messages_in=totals.messages_in,
            messages_out=totals.messages_out,
            commands=totals.commands,
            errors=totals.errors,
            detail={
                "dropped": self.dropped,
                "queued": self.inbox.qsize(),
                "failures": self.machine.failures,
                "temp_bytes": dir_usage(process_temp_dir()),
            },
        )

    def _heartbeat_loop(self) -> None:
        last_flush = time.monotonic()
        try:
            while True:
                try:
                    beat = self.beat()
                    if self.beats is not None and not self.beats.send(beat) and not self._stop.is_set():
                        # An orphan would stay connected while a standby takes the lease: two connections.
                        logger.error("supervisor gone; stopping the child", extra={"session": self.session_name})
                        self.request_stop(exit_code=ChildExit.DONE, reason="supervisor_gone")
                    if beat.memory_level == "hard":
                        logger.error(
                            "memory over the hard limit; restarting the child",
                            extra={"session": self.session_name, "rss": beat.rss_bytes},
                        )
                        self.request_stop(exit_code=ChildExit.MEMORY, reason="memory")
                    if time.monotonic() - last_flush >= self.flush_interval:
                        last_flush = time.monotonic()
                        self.stats.flush()
                except Exception:
                    logger.exception("heartbeat tick failed", extra={"session": self.session_name})
                if self._stop.wait(self.heartbeat_interval):
                    return
        finally:
            connection.close()
