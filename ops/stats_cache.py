"""The per-process cache of the /stats snapshot, imported by the web dyno (gunicorn).

/stats, /metrics and the dashboard all read the snapshot through :func:`stats_cached`, so under
load the database sees one snapshot computation per :data:`STATS_CACHE_SECONDS` per web process.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder

from ops.selectors.stats import stats_snapshot

#: How long a computed /stats snapshot is served from the cache (per web process).
STATS_CACHE_SECONDS = 5
#: A copy older than this is never served, even while another thread refreshes it.
STATS_MAX_STALE_SECONDS = 30


@dataclass(frozen=True)
class CachedStats:
    computed_at: float
    snapshot: dict
    body: bytes  # the snapshot as JSON, serialised once


class StatsCache:
    """Per-process /stats cache: fresh for ``ttl`` seconds, then one thread refreshes it while the
    others keep serving the previous copy (never a stampede of recomputations under load). A copy
    older than ``max_stale`` is never served: the caller waits for a new one (and sees its error).
    """

    def __init__(self, *, ttl: float, max_stale: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_stale = max_stale
        self.clock = clock
        self._lock = threading.Lock()
        self._entry: CachedStats | None = None

    def clear(self) -> None:
        self._entry = None

    def _build(self) -> CachedStats:
        snapshot = stats_snapshot()
        body = json.dumps(snapshot, cls=DjangoJSONEncoder).encode()
        entry = CachedStats(computed_at=self.clock(), snapshot=snapshot, body=body)
        self._entry = entry
        return entry

    def get(self) -> CachedStats:
        entry = self._entry
        if entry is not None:
            age = self.clock() - entry.computed_at
            if age < self.ttl:
                return entry
            if age < self.max_stale:
                if self._lock.acquire(blocking=False):
                    try:
                        return self._build()
                    finally:
                        self._lock.release()
                return entry  # another thread is refreshing: the previous copy is good enough
        with self._lock:
            entry = self._entry
            if entry is not None and self.clock() - entry.computed_at < self.ttl:
                return entry  # built by the thread we waited for
            return self._build()


stats_cache = StatsCache(ttl=STATS_CACHE_SECONDS, max_stale=STATS_MAX_STALE_SECONDS)


def stats_cached() -> CachedStats:
    """The /stats document (dict and JSON bytes), recomputed at most every few seconds per process."""
    return stats_cache.get()
