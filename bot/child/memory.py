"""Memory watching for small dynos (512 MB on Heroku's basic tier).

The child samples its RSS every ``SAMPLE_SECONDS``; at 80 % of ``MEMORY_LIMIT_MB`` it sheds what
can be rebuilt (media LRU, group metadata cache, idle command modules) and runs ``gc.collect()``;
at 95 % it reports ``hard`` in its heartbeat and the supervisor restarts it gracefully
(``reason=memory``), within a restart budget so a leak cannot turn into a restart loop.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)

SAMPLE_SECONDS = 30.0
SOFT_RATIO = 0.80
HARD_RATIO = 0.95

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (no psutil import on the hot path)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        import psutil

        return psutil.Process().memory_info().rss


def _malloc_trim() -> bool:
    """Give freed heap pages back to the OS; glibc keeps them otherwise, so RSS would not drop."""
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return False


def release_memory() -> int:
    """Collect garbage and return freed heap to the OS; returns the objects collected.

    Called when the child has started (import-time garbage) and after shedding at the soft limit.
    """
    collected = gc.collect()
    _malloc_trim()
    return collected


@dataclass(frozen=True)
class MemoryReading:
    rss: int
    limit: int
    level: str  # ok, soft, hard
    freed: dict[str, int] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.rss / self.limit if self.limit else 0.0


Shedder = Callable[[], int]  # drops rebuildable state; returns how many items (or bytes) it let go


class MemoryGuard:
    """Decides ok / soft / hard from an RSS sample and sheds caches at the soft limit."""

    def __init__(
        self,
        *,
        limit_mb: int,
        sampler: Callable[[], int] = rss_bytes,
        clock: Callable[[], float] = time.monotonic,
        soft_ratio: float = SOFT_RATIO,
        hard_ratio: float = HARD_RATIO,
        shed_interval: float = 300.0,
    ) -> None:
        self.limit = limit_mb * 1024 * 1024
        self.sampler = sampler
        self.clock = clock
        self.soft = int(self.limit * soft_ratio)
        self.hard = int(self.limit * hard_ratio)
        self.shed_interval = shed_interval
        self._shedders: dict[str, Shedder] = {}
        self._last_shed: float | None = None
        self.peak = 0

    def register(self, name: str, shedder: Shedder) -> None:
        """A cache or module table that can be dropped and rebuilt on demand."""
        self._shedders[name] = shedder

    def shed(self) -> dict[str, int]:
        freed: dict[str, int] = {}
        for name, shedder in self._shedders.items():
            try:
                freed[name] = int(shedder())
            except Exception:  # a broken shedder must not stop the others
                logger.exception("memory shedder failed", extra={"shedder": name})
        freed["gc_objects"] = release_memory()
        return freed

    def check(self) -> MemoryReading:
        rss = self.sampler()
        self.peak = max(self.peak, rss)
        if rss >= self.hard:
            return MemoryReading(rss=rss, limit=self.limit, level="hard")
        if rss < self.soft:
            return MemoryReading(rss=rss, limit=self.limit, level="ok")
        now = self.clock()
        if self._last_shed is not None and now - self._last_shed < self.shed_interval:
            return MemoryReading(rss=rss, limit=self.limit, level="soft")
        self._last_shed = now
        freed = self.shed()
        after = self.sampler()
        logger.warning(
            "memory over the soft limit: shed caches",
            extra={
                "rss_before": rss,
                "rss_after": after,
                "limit": self.limit,
                **{f"freed_{k}": v for k, v in freed.items()},
            },
        )
        return MemoryReading(rss=after, limit=self.limit, level="hard" if after >= self.hard else "soft", freed=freed)
