"""The child -> supervisor heartbeat: one JSON line every few seconds over an inherited pipe.

A Python thread in the child keeps beating even when neonize's Go call is stuck (a stalled dial,
the post-QR ``FetchMe`` loop), so a beat alone proves little. Each beat therefore carries
``stalled_for``: seconds since the child last made progress (an event, a message, a healthy
connection check, a planned wait). The supervisor treats a child as hung when beats stop arriving
or when ``stalled_for`` exceeds ``HEARTBEAT_TIMEOUT``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Beat:
    pid: int
    state: str
    stalled_for: float = 0.0
    rss_bytes: int = 0
    memory_level: str = "ok"  # ok, soft, hard (bot.child.memory.MemoryGuard)
    messages_in: int = 0
    messages_out: int = 0
    commands: int = 0
    errors: int = 0
    at: float = field(default_factory=time.time)
    detail: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        return (json.dumps(asdict(self), separators=(",", ":"), default=str) + "\n").encode()

    @classmethod
    def decode(cls, line: bytes) -> Beat:
        data = json.loads(line)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


def counts_add(base: dict[str, int], more: object) -> dict[str, int]:
    """``base`` plus the counts of a beat (``detail["counts"]``), as a new dict; what is not a count is left out.

    A child's counts start at 0; the supervisor adds each finished child's to its own running total,
    so the figures it writes go on counting up for as long as it runs (a Prometheus counter).
    """
    total = dict(base)
    if isinstance(more, dict):
        for key, value in more.items():
            if isinstance(key, str) and isinstance(value, int) and not isinstance(value, bool) and value > 0:
                total[key] = total.get(key, 0) + value
    return total


class Progress:
    """When the child last moved forward; ``touch(grace)`` also excuses ``grace`` seconds of quiet ahead."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._deadline = clock()
        self._lock = threading.Lock()

    def touch(self, grace: float = 0.0) -> None:
        with self._lock:
            self._deadline = max(self._deadline, self.clock() + grace)

    def stalled_for(self) -> float:
        with self._lock:
            return max(0.0, self.clock() - self._deadline)


class BeatWriter:
    """Child side: writes beats to the pipe; a vanished supervisor is logged once, never raised."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.parent = os.getppid()  # the supervisor; a SIGKILL of it re-parents us
        self._broken = False
        self._lock = threading.Lock()

    def send(self, beat: Beat) -> bool:
        """False once the supervisor is gone (pipe closed, or we were re-parented): the child must stop."""
        if self._broken:
            return False
        if os.getppid() != self.parent:  # the pipe may outlive it in a process it forked
            self._broken = True
            logger.warning("the supervisor is gone", extra={"supervisor_pid": self.parent})
            return False
        data = beat.encode()
        try:
            with self._lock:
                view = memoryview(data)
                while view:
                    written = os.write(self.fd, view)
                    view = view[written:]
            return True
        except OSError as exc:
            self._broken = True
            logger.warning("heartbeat pipe closed; the supervisor is gone", extra={"error": str(exc)})
            return False

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class BeatReader:
    """Supervisor side: a thread reads beats; ``latest`` and ``received_at`` (monotonic) say how fresh."""

    def __init__(
        self,
        fd: int,
        *,
        on_beat: Callable[[Beat], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fd = fd
        self.on_beat = on_beat
        self.clock = clock
        self.latest: Beat | None = None
        self.received_at = clock()
        self.count = 0
        self._thread = threading.Thread(target=self._run, name="heartbeat-reader", daemon=True)

    def start(self) -> BeatReader:
        self._thread.start()
        return self

    def age(self) -> float:
        """Seconds since the last beat (since start before the first one)."""
        return max(0.0, self.clock() - self.received_at)

    def _run(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self._handle(line)
        except OSError:
            return
        finally:
            try:
                os.close(self.fd)
            except OSError:
                pass

    def _handle(self, line: bytes) -> None:
        try:
            beat = Beat.decode(line)
        except (ValueError, TypeError):
            logger.warning("unreadable heartbeat line ignored", extra={"length": len(line)})
            return
        self.latest = beat
        self.received_at = self.clock()
        self.count += 1
        if self.on_beat is not None:
            try:
                self.on_beat(beat)
            except Exception:
                logger.exception("heartbeat handler failed")

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)


class ChildExit:
    """Exit codes of the bot child, read by the supervisor to choose what happens next."""

    DONE = 0  # stopped on request, or the console input ended: do not restart
    TERMINAL = 3  # logged out, replaced, outdated: stop, alert, never retry
    FRESH = 4  # MAX_RECONNECT_ATTEMPTS failed in a row: start a fresh child (re-pair if no longer paired)
    MEMORY = 5  # over the hard memory limit: restart gracefully (reason=memory)
    USAGE = 2  # bad arguments or configuration: restarting would not help
    FENCED = 6  # the supervisor's lease proof ran out (it is paused or cut off): the lease decides what next
    DEAF = 7  # connected, but WhatsApp stopped answering the liveness questions: restart (reason=deaf)
    CONFIRM_LOGOUT = 8  # logged out right after a 515: restore the newest backup, reconnect once to confirm
