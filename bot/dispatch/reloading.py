"""Settings the dispatchers read on every message, kept in memory and read again when stale (bot child).

A lookup per message must not be a query per message; a change made elsewhere (the admin, another
process) must still show within ``ttl`` seconds. Two dispatcher threads may find the copy stale at
once: the lock makes one of them read, the other then sees it fresh.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class ReloadsWhenStale:
    """Mixin: ``refresh_if_stale()`` calls ``reload()`` when the copy is older than ``ttl`` seconds.

    The class sets ``clock``, ``ttl``, ``_loaded_at`` (None until the first read), ``_lock`` and
    implements ``reload()``, which sets ``_loaded_at`` (also after a failed read, so a database that
    is down is asked once per ``ttl``, not per message).
    """

    clock: Callable[[], float]
    ttl: float
    _loaded_at: float | None
    _lock: threading.Lock

    def _fresh(self, now: float) -> bool:
        return self._loaded_at is not None and now - self._loaded_at < self.ttl

    def refresh_if_stale(self) -> None:
        now = self.clock()
        if self._fresh(now):
            return
        with self._lock:
            if not self._fresh(now):
                self.reload()

    def reload(self) -> None:
        raise NotImplementedError
