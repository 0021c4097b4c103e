"""The crash-loop budget: at most ``limit`` automatic child restarts within ``window`` seconds.

Spent only by crashes, hangs and memory restarts (see ``policy.py``); when it is spent the
supervisor gives up, so the host restarts the worker instead of the bot looping forever.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RestartBudget:
    """At most ``limit`` restarts within ``window`` seconds; beyond that the caller stops and says so."""

    def __init__(self, *, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._times: deque[float] = deque()

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()

    def allow(self) -> bool:
        """Record a restart if the budget has room; False when it is spent."""
        now = self.clock()
        self._trim(now)
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True

    @property
    def used(self) -> int:
        self._trim(self.clock())
        return len(self._times)
