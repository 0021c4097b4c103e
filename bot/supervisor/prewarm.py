"""The standby's pre-warmed bot child: started before the lease is ours, told to go once it is.

A mixin of :class:`bot.supervisor.loop.Supervisor` (the ``runbot`` parent). While the supervisor
waits for the lease (a hot standby), its child already runs with Django set up and the transport
imported, blocked on its order pipe (:mod:`bot.warm_start`: it touches neither the database nor the
store until told). On takeover :meth:`Prewarming.warm_take` hands it to ``start_child``, which sends
the first fence and the order, so a takeover costs the store check and the dial, not a process start.
Without a waiting child (``STANDBY_PREWARM=false``, or it died meanwhile) the child starts cold, as
before.

The django-q2 cluster forks after a takeover while the waiting child's pipes are open: the forked
processes close our ends of them (``os.register_at_fork``), so the child still sees its supervisor
go when it goes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from dataclasses import dataclass, field

from bot.fencing import FenceWriter
from bot.warm_start import GoWriter

logger = logging.getLogger(__name__)

DISCARD_WAIT = 2.0  # seconds a discarded child gets to leave by itself (it only waits on a pipe)
_PARENT_ENDS: set[int] = set()  # our ends of the waiting children's pipes, closed in every forked process


def _close_parent_ends() -> None:
    for fd in list(_PARENT_ENDS):
        try:
            os.close(fd)
        except OSError:
            pass
    _PARENT_ENDS.clear()


os.register_at_fork(after_in_child=_close_parent_ends)


@dataclass
class WarmChild:
    """A child waiting for its order, and our ends of its three pipes."""

    process: subprocess.Popen
    beat_fd: int  # we read its beats once it runs
    fence: FenceWriter
    go: GoWriter
    spawned_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def release_ends(self) -> None:
        """The ends now belong to a running child's reader and writers: no longer ours to close on fork."""
        for fd in (self.beat_fd, self.fence.fd, self.go.fd):
            _PARENT_ENDS.discard(fd)


class Prewarming:
    """Needs what :class:`bot.supervisor.loop.Supervisor` sets (``prewarm``, ``session_name``) and ``child_argv``."""

    session_name: str
    warm: WarmChild | None = None
    prewarm = False  # STANDBY_PREWARM, for a supervisor that may stand by

    def warm_spawn(self) -> WarmChild | None:
        """Before standing by: a child that waits for the lease with everything imported (if enabled)."""
        if not self.prewarm or self.warm is not None:
            return self.warm
        beat_read, beat_write = os.pipe()
        fence_read, fence_write = os.pipe()
        go_read, go_write = os.pipe()
        passed = (beat_write, fence_read, go_read)
        try:
            process = subprocess.Popen(
                self.child_argv(beat_write) + ["--fence-fd", str(fence_read), "--warm-fd", str(go_read)],
                pass_fds=passed,
                close_fds=True,
                env={**os.environ, "BLACKSKY_PROCESS": "bot-child"},  # the lean app list (settings.py)
            )
        except OSError:
            logger.exception(
                "pre-warming the bot child failed; it will start cold", extra={"session": self.session_name}
            )
            for fd in (beat_read, fence_write, go_write):
                os.close(fd)
            return None
        finally:
            for fd in passed:
                os.close(fd)
        os.set_blocking(fence_write, False)  # a child that stopped reading must never block the loop
        _PARENT_ENDS.update((beat_read, fence_write, go_write))
        self.warm = WarmChild(process=process, beat_fd=beat_read, fence=FenceWriter(fence_write), go=GoWriter(go_write))
        logger.info(
            "bot child pre-warmed; it waits for the lease",
            extra={"session": self.session_name, "child_pid": process.pid},
        )
        return self.warm

    def warm_take(self) -> WarmChild | None:
        """The waiting child, if it still waits (taken: it is ours to start); None means start one cold."""
        warm, self.warm = self.warm, None
        if warm is None:
            return None
        code = warm.process.poll()
        if code is None:
            return warm
        logger.warning(
            "the pre-warmed bot child had exited; starting one cold",
            extra={"session": self.session_name, "child_pid": warm.pid, "exit_code": code},
        )
        self._warm_close(warm)
        return None

    def warm_discard(self, reason: str) -> None:
        """No takeover for it (stopping): close its order pipe, so it leaves by itself; kill it if it lingers."""
        warm, self.warm = self.warm, None
        if warm is None:
            return
        self._warm_close(warm)
        try:
            code = warm.process.wait(DISCARD_WAIT)
        except subprocess.TimeoutExpired:
            warm.process.kill()
            code = warm.process.wait()
        logger.info(
            "pre-warmed bot child let go",
            extra={"session": self.session_name, "child_pid": warm.pid, "reason": reason, "exit_code": code},
        )

    @staticmethod
    def _warm_close(warm: WarmChild) -> None:
        warm.release_ends()
        warm.go.close()
        warm.fence.close()
        try:
            os.close(warm.beat_fd)
        except OSError:
            pass
