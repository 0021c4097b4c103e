"""The supervisor -> child fence: how long the child may stay connected, one JSON line per lease renewal.

Imported by the supervisor (writes) and the bot child (reads). The child may hold the WhatsApp
connection only while it has proof that its supervisor still owns the session's lease. Each line
carries two monotonic instants (``time.monotonic`` is one clock for every process on a host):

- ``deadline``: when the child must start leaving (disconnect, say so, exit);
- ``exit_by``: the lease's own bound (``Lease.valid_until``); no other worker can take the lease
  before it, so a child gone by then never overlaps a standby's child.

A paused, hung or database-less supervisor sends nothing; the last deadline then passes and the child
fences itself. A deadline that arrives late is already near its end: it is never extended by delay.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)

MIN_MARGIN = 0.5  # seconds a child needs to disconnect and exit
MAX_MARGIN = 5.0


@dataclass(frozen=True)
class Fence:
    fencing: int
    deadline: float
    exit_by: float

    def encode(self) -> bytes:
        return (json.dumps(asdict(self), separators=(",", ":")) + "\n").encode()

    @classmethod
    def decode(cls, line: bytes) -> Fence:
        data = json.loads(line)
        return cls(fencing=int(data["fencing"]), deadline=float(data["deadline"]), exit_by=float(data["exit_by"]))


def fence_margin(ttl: float) -> float:
    """How long before the lease's bound the child starts leaving: a sixth of the TTL, 0.5 to 5 s."""
    return min(MAX_MARGIN, max(MIN_MARGIN, ttl / 6))


def fence_for(*, fencing: int, valid_until: float, ttl: float) -> Fence:
    return Fence(fencing=fencing, deadline=valid_until - fence_margin(ttl), exit_by=valid_until)


class FenceWriter:
    """Supervisor side: sends a fence when it moved on; a closed pipe (child gone) is not an error."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.sent: Fence | None = None

    def send(self, fence: Fence) -> bool:
        if self.sent == fence:
            return True
        try:
            os.write(self.fd, fence.encode())  # one short line: atomic on a pipe
        except OSError:
            return False
        self.sent = fence
        return True

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


class FenceWatch:
    """Child side: reads fences on one thread, and calls ``on_expired(fence)`` once its deadline passes.

    Before the first fence arrives the child holds no proof at all: :meth:`wait_first` blocks for it.
    ``on_closed`` runs when the supervisor's end of the pipe closes (it died); the deadline still holds.
    """

    def __init__(
        self,
        fd: int,
        *,
        on_expired: Callable[[Fence], None],
        on_closed: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fd = fd
        self.on_expired = on_expired
        self.on_closed = on_closed
        self.clock = clock
        self.fence: Fence | None = None
        self.expired = False
        self._changed = threading.Condition()
        self._stopped = False

    def start(self) -> FenceWatch:
        threading.Thread(target=self._read, name="fence-reader", daemon=True).start()
        threading.Thread(target=self._watch, name="fence-watch", daemon=True).start()
        return self

    def wait_first(self, timeout: float) -> Fence | None:
        with self._changed:
            self._changed.wait_for(lambda: self.fence is not None or self._stopped, timeout)
            return self.fence

    def remaining(self) -> float | None:
        fence = self.fence
        return None if fence is None else fence.deadline - self.clock()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def _take(self, fence: Fence) -> None:
        with self._changed:
            current = self.fence
            if current is not None and (fence.fencing != current.fencing or fence.deadline <= current.deadline):
                if fence.fencing != current.fencing:
                    logger.error("fence for another lease ignored", extra={"fencing": fence.fencing})
                return
            self.fence = fence
            self._changed.notify_all()

    def _read(self) -> None:
        buffer = b""
        try:
            while True:
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        self._take(Fence.decode(line))
                    except (ValueError, KeyError, TypeError):
                        logger.warning("unreadable fence line ignored", extra={"length": len(line)})
        except OSError:
            pass
        finally:
            try:
                os.close(self.fd)
            except OSError:
                pass
        if self.on_closed is not None and not self._stopped:
            self.on_closed()

    def _watch(self) -> None:
        with self._changed:
            while not self._stopped:
                fence = self.fence
                if fence is None:
                    self._changed.wait(1.0)
                    continue
                left = fence.deadline - self.clock()
                if left <= 0:
                    self.expired = True
                    break
                self._changed.wait(min(left, 1.0))
            else:
                return
        self.on_expired(fence)
