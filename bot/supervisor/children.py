"""The supervisor's side of the bot child: start it, read its beats, judge it hung, stop it.

A mixin of :class:`bot.supervisor.loop.Supervisor`; the child is a fresh ``manage.py runbot
--child`` subprocess (never a fork: neonize must not be loaded in a process that forks).

The beat reader thread only notes each beat: the status row is written by the supervisor's
database thread, so a database that hangs can never make a healthy child look hung.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import replace

from django.conf import settings
from django.utils import timezone

from bot import events
from bot.db_buffer import drop_connection, is_outage
from bot.fencing import Fence, FenceWriter
from bot.heartbeat import Beat, BeatReader, ChildExit, counts_add
from bot.models import ConnectionState as State
from bot.supervisor.prewarm import Prewarming, WarmChild
from bot.warm_start import Go

logger = logging.getLogger(__name__)


class Child:
    """One running bot child and its heartbeat pipe."""

    def __init__(self, process: subprocess.Popen, reader: BeatReader, started: float) -> None:
        self.process = process
        self.reader = reader
        self.started = started
        self.kill_reason = ""  # why we stopped it, when we did
        self.planned = False  # a restart we asked for (control action): no budget, no back-off
        self.state = ""
        self.fence: FenceWriter | None = None  # the lease proof we hand it (None: nothing to fence)

    @property
    def pid(self) -> int:
        return self.process.pid


class ChildHandling(Prewarming):
    """Starting, watching and stopping the child; needs the attributes the Supervisor sets."""

    child: Child | None
    session_name: str

    # -- the child ----------------------------------------------------------------------------------------
    def child_argv(self, fd: int) -> list[str]:
        """What every child's command line says, pre-warmed or not (the session's own flags come apart)."""
        return [
            self.python,
            str(self.manage_py),
            "runbot",
            "--child",
            "--skip-checks",  # the supervisor ran them; the child's lean app list has no admin URLs to check
            "--transport",
            self.transport,
            "--heartbeat-fd",
            str(fd),
            "--heartbeat-interval",
            str(self.heartbeat_interval),
        ]

    def child_go(self, fencing: int | None = None) -> Go:
        """This session's flags for the next child: on its command line, or in a pre-warmed child's order."""
        confirm, self.confirming_logout = self.confirming_logout, False  # one child confirms; the next is ordinary
        return Go(
            session_name=self.session_name,
            fencing=fencing,
            pair_phone=self.pair_phone,
            confirm_logout=confirm,
            # restarting did not help: the child alerts once and stays
            deaf_restarts=self.deaf_streak < settings.DEAF_RESTARTS,
        )

    def child_command(self, fd: int, fence_fd: int | None = None, fencing: int | None = None) -> list[str]:
        go = self.child_go(fencing)
        argv = [*self.child_argv(fd), "--session", go.session_name]
        if go.pair_phone:
            argv += ["--pair-phone", go.pair_phone]
        if fence_fd is not None:
            argv += ["--fence-fd", str(fence_fd), "--fencing", str(fencing)]
        if go.confirm_logout:
            argv += ["--confirm-logout"]
        if not go.deaf_restarts:
            argv += ["--no-deaf-restart"]
        return argv

    deaf_streak = 0  # children in a row that exited deaf; a liveness answer resets it
    confirming_logout = False  # the next child reconnects to confirm a logout (bot.child.misread)
    _counts_done: dict[str, int] = {}  # counts of the children that ended and our own (never mutated: replaced)
    _child_counts: dict[str, int] = {}  # the running child's, from its newest beat

    def counts_child_started(self) -> None:
        """A new child counts from 0: what the one before it counted joins the running total."""
        self._counts_done, self._child_counts = counts_add(self._counts_done, self._child_counts), {}

    def count_reconnect(self, reason: str) -> None:
        """A restart of the child is a reconnect too: counted under its reason, as its ReconnectEvent."""
        self._counts_done = counts_add(self._counts_done, {f"reconnect:{reason}": 1})

    def deaf_exit(self, code: int) -> None:
        """Count deaf exits in a row; at DEAF_RESTARTS the next child alerts instead of restarting."""
        if code != ChildExit.DEAF:
            return
        self.deaf_streak += 1
        if self.deaf_streak == settings.DEAF_RESTARTS:
            logger.error(
                "the connection stayed deaf after the allowed restarts; the next child keeps it and alerts",
                extra={"session": self.session_name, "reason": "deaf_persistent", "restarts": self.deaf_streak},
            )

    @property
    def heartbeat_interval(self) -> float:
        return round(max(0.2, min(5.0, self.heartbeat_timeout / 4)), 3)

    def start_child(self) -> Child:
        """The pre-warmed child if one waits (told to go), else a fresh one; either way fenced from the start."""
        fence = self.ownership.fence()
        warm = self.warm_take() if fence is not None else None
        started = self._warm_go(warm, fence) if warm is not None and fence is not None else None
        prewarmed = started is not None
        process, read_fd, writer = started or self._cold_start(fence)
        reader = BeatReader(read_fd, on_beat=self.on_beat, clock=self.clock).start()
        self.child = Child(process, reader, self.clock())
        if writer is not None and fence is not None:
            self.child.fence = writer
            writer.send(fence)
        restarted = self.starts > 0
        self.starts += 1
        self._child_totals = {"messages_in": 0, "messages_out": 0}
        self.counts_child_started()
        try:
            events.bot_status_child_started(session_name=self.session_name, child_pid=process.pid, restarted=restarted)
        except Exception:
            logger.exception("recording the child start failed")
        logger.info(
            "bot child started",
            extra={
                "session": self.session_name,
                "child_pid": process.pid,
                "start": self.starts,
                "prewarmed": prewarmed,
            },
        )
        return self.child

    def _cold_start(self, fence: Fence | None) -> tuple[subprocess.Popen, int, FenceWriter | None]:
        read_fd, write_fd = os.pipe()
        fence_read, fence_write = os.pipe() if fence is not None else (None, None)
        passed = (write_fd,) if fence_read is None else (write_fd, fence_read)
        try:
            process = subprocess.Popen(
                self.child_command(write_fd, fence_read, fence.fencing if fence else None),
                pass_fds=passed,
                close_fds=True,
                env={**os.environ, "BLACKSKY_PROCESS": "bot-child"},  # the lean app list (settings.py)
            )
        except BaseException:
            os.close(read_fd)
            if fence_write is not None:
                os.close(fence_write)
            raise
        finally:
            for fd in passed:
                os.close(fd)
        if fence_write is None:
            return process, read_fd, None
        os.set_blocking(fence_write, False)  # a child that stopped reading must never block the loop
        return process, read_fd, FenceWriter(fence_write)

    def _warm_go(self, warm: WarmChild, fence: Fence) -> tuple[subprocess.Popen, int, FenceWriter] | None:
        """The lease proof first, then the order (:mod:`bot.warm_start`); None if the child is gone."""
        warm.release_ends()
        go = self.child_go(fence.fencing)
        if not (warm.fence.send(fence) and warm.go.send(go)):
            self.confirming_logout = go.confirm_logout  # the cold child confirms instead
            logger.warning(
                "the pre-warmed bot child did not take its order; starting one cold",
                extra={"session": self.session_name, "child_pid": warm.pid},
            )
            self._warm_close(warm)
            warm.process.kill()
            warm.process.wait()
            return None
        warm.go.close()  # one order per child: nothing more on that pipe
        return warm.process, warm.beat_fd, warm.fence

    def on_beat(self, beat: Beat) -> None:
        """Runs on the heartbeat reader thread: note the state and the beat, never touch the database."""
        child = self.child
        if child is not None:
            child.state = beat.state
        self._child_totals = {"messages_in": beat.messages_in, "messages_out": beat.messages_out}
        self._child_counts = beat.detail.get("counts") or {}
        # what went wrong since this supervisor started: earlier children's counts plus this one's
        beat = replace(beat, detail={**beat.detail, "counts": counts_add(self._counts_done, self._child_counts)})
        if beat.detail.get("liveness_answered"):
            self.deaf_streak = 0  # WhatsApp answers this child: the connection hears again
        self._beat_unwritten = (beat, timezone.now())
        self._state_known = beat.state  # what record() assumes while the database is away

    def write_heartbeat(self) -> None:
        """The newest beat into ``BotStatus`` (one write however many beats came meanwhile)."""
        pending, self._beat_unwritten = self._beat_unwritten, None
        if pending is None:
            return
        beat, at = pending
        if beat.state == State.CONNECTED and self._restart_attempt is not None:
            self._close_restart_attempt("succeeded")
        try:
            events.bot_status_heartbeat(
                session_name=self.session_name,
                at=at,
                child_pid=beat.pid,
                rss_bytes=beat.rss_bytes,
                messages_in=self._totals["messages_in"] + beat.messages_in,
                messages_out=self._totals["messages_out"] + beat.messages_out,
                detail={
                    "stalled_for": beat.stalled_for,
                    "memory_level": beat.memory_level,
                    "commands": beat.commands,
                    "errors": beat.errors,
                    **beat.detail,
                    "db_lost": beat.detail.get("db_lost", 0) + self.buffer.lost,
                },
                fencing=self.ownership.fencing,
            )
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.watch.failed(exc)  # the next beat replaces this one: nothing to keep
            return
        self.restore_watch_observe(state=beat.state)

    def start_db_writer(self) -> None:
        """A thread for the writes that may wait (status, buffered events): the loop never blocks on them."""
        self._db_thread = threading.Thread(target=self._db_loop, name="supervisor-db", daemon=True)
        self._db_thread.start()

    def _db_loop(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self.buffer.tick()  # buffered writes first (in order), or a probe while away
                if not self.watch.down:
                    self.write_heartbeat()
            except Exception as exc:
                if is_outage(exc):
                    self.watch.failed(exc)
                else:
                    logger.exception("supervisor database writer failed", extra={"session": self.session_name})
                    drop_connection()

    def check_hung(self, now: float) -> bool:
        """Beats stopped, or they say the child made no progress for longer than HEARTBEAT_TIMEOUT."""
        child = self.child
        if child is None:
            return False
        beat = child.reader.latest
        age = child.reader.age() if beat is not None else now - child.started
        limit = self.heartbeat_timeout if beat is not None else max(self.heartbeat_timeout, self.startup_grace)
        stalled = beat.stalled_for if beat is not None else 0.0
        if age <= limit and stalled <= self.heartbeat_timeout:
            return False
        logger.warning(
            "bot child hung; killing it",
            extra={
                "session": self.session_name,
                "child_pid": child.pid,
                "beat_age": round(age, 1),
                "stalled_for": stalled,
                "state": beat.state if beat else "-",
            },
        )
        if beat is not None and beat.state == State.PAIRING:
            # Nobody scanned the QR: neonize now sits in FetchMe forever. A fresh child shows a fresh QR;
            # waiting for a scan is not a crash, so it costs no restart budget.
            child.kill_reason = "qr_timeout"
            child.planned = True
            self.record(State.STARTING, "qr_timeout")
        else:
            child.kill_reason = "hung"
        self.terminate_child(grace=self.kill_grace)
        return True

    def terminate_child(self, *, grace: float, hurry: threading.Event | None = None) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds (less if ``hurry`` is set), then SIGKILL; returns the exit code."""
        child = self.child
        if child is None:
            return None
        process = child.process
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = self.clock() + grace
        while process.poll() is None and self.clock() < deadline:
            if hurry is not None and hurry.is_set():
                break
            if not self.ownership.keep():  # never let it drain past our lease: a standby may own the session
                break
            self.fence_child()  # a draining child sends replies: it needs its proof renewed like any other
            time.sleep(0.02)
        if process.poll() is None:
            logger.warning("bot child did not stop in time; SIGKILL", extra={"child_pid": process.pid})
            process.kill()
        code = process.wait()
        self.on_child_exit(code)
        return code
