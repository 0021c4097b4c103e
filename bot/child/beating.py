"""The child's heartbeat thread (judge progress, sample memory, beat to the supervisor) and its
database writer thread (flush the stats, write what an outage held back).

A mixin of :class:`bot.child.runtime.BotRuntime`. A beat the supervisor cannot read means it is
gone: the child stops rather than stay connected as an orphan beside a standby's child. The beats
never wait for the database: a database that hangs must not make a healthy child look hung.
"""

from __future__ import annotations

import logging
import os
import threading

from django.db import connection

from blacksky_site.tempfiles import dir_usage, process_temp_dir
from bot.child.memory import rss_bytes
from bot.db_buffer import drop_connection, outage_watch, write_buffer
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
                # writes an outage cost (buffer overflow, minute buckets dropped): /stats shows them
                "db_lost": write_buffer().lost + self.stats.lost_minutes,
                "db_down": outage_watch().down,
                "counts": self.stats.counts_total(),  # what went wrong (bot.child.counting)
                **(self.liveness.snapshot() if self.liveness is not None else {}),
            },
        )

    def _db_writer_loop(self) -> None:
        """Every ``flush_interval``: the buffered writes (in order), then the stats; a probe while away."""
        buffer, watch = write_buffer(), outage_watch()
        try:
            while not self._stop.wait(self.flush_interval):
                try:
                    buffer.tick()
                    if not watch.down:
                        self.stats.flush()
                        self._phone_tick()
                except Exception:
                    logger.exception("database writer tick failed", extra={"session": self.session_name})
                    drop_connection()
        finally:
            connection.close()

    def _heartbeat_loop(self) -> None:
        threading.Thread(target=self._db_writer_loop, name="db-writer", daemon=True).start()
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
                    self._liveness_tick()
                except Exception:
                    logger.exception("heartbeat tick failed", extra={"session": self.session_name})
                if self._stop.wait(self.heartbeat_interval):
                    return
        finally:
            connection.close()
