"""Riding through a database outage: imported by the supervisor and the bot child (through
``bot.events``, ``bot.dispatch.stats`` and their loops).

- :class:`OutageWatch` turns the many failures of an outage into two log lines per component, one
  warning when it starts (``database unreachable component=...``) and one when it ends, with its
  length (``database back component=... outage_s=20.3``), and no tracebacks.
- :class:`WriteBuffer` keeps the writes made meanwhile (events, reconnect attempts) in memory, in
  order, and writes them once the database answers again. Each write carries the time it happened
  (the caller binds it), not the time it is written. It is bounded: the overflow is counted as
  ``lost`` (in the log when the outage ends, and in the heartbeat's detail that ``/stats`` shows).

Which errors are an outage: ``OperationalError`` (refused, reset, timed out, cut by
``blacksky_site.db_deadline``) and ``InterfaceError`` (a connection already closed). A bad query
(``ProgrammingError``, ``IntegrityError``) is a bug, not an outage: it is logged with its trace.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

OUTAGE_ERRORS = (OperationalError, InterfaceError)
BUFFER_SIZE = 500  # writes kept per process: a 60 s outage writes a few dozen at most


#: A connection whose socket was cut mid-transaction (``db_deadline``) is left "in transaction" by
#: psycopg, and Django's next use of it fails with this ProgrammingError: a broken link, not a bug.
_CUT_MID_TRANSACTION = "can't change 'autocommit' now"


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, OUTAGE_ERRORS):
        return True
    return isinstance(exc, DatabaseError) and _CUT_MID_TRANSACTION in str(exc)


def drop_connection() -> None:
    """Forget this thread's broken connection without talking to the server (it may hang)."""
    try:
        connection.close()
    except Exception:  # closing a dead link can itself fail; the next call reconnects anyway
        logger.debug("closing a broken database connection failed", exc_info=True)


class OutageWatch:
    """Whether the database is away, as this component (process) last saw it; thread-safe."""

    def __init__(self, *, component: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.component = component
        self.clock = clock
        self.down_since: float | None = None
        self.outages = 0
        self._lock = threading.Lock()
        self.buffer: WriteBuffer | None = None  # set by the buffer that reports through this watch

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def failed(self, exc: BaseException) -> None:
        """A call failed with an outage error: the first one of an outage logs the warning."""
        if _CUT_MID_TRANSACTION in str(exc) and self.down_since is None:
            drop_connection()  # this thread's link was cut in an earlier outage: dead, but the database answers
            return
        with self._lock:
            starting = self.down_since is None
            if starting:
                self.down_since = self.clock()
                self.outages += 1
        drop_connection()
        if starting:
            logger.warning(
                "database unreachable",
                extra={"component": self.component, "error": type(exc).__name__, "detail": str(exc)[:120]},
            )

    def ok(self) -> None:
        """A call succeeded: an outage in progress ends here, with its length."""
        if self.down_since is None:
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is None:
            return
        from blacksky_site.db_deadline import connections_recheck

        connections_recheck()  # the other threads' links died with the old server
        extra: dict[str, Any] = {"component": self.component, "outage_s": round(self.clock() - since, 1)}
        if self.buffer is not None:
            extra.update(buffered=self.buffer.pending, lost=self.buffer.lost)
        logger.warning("database back", extra=extra)

    def call(self, fn: Callable[[], Any], default: Any = None) -> Any:
        """Run ``fn``; an outage error is noted (no trace) and ``default`` returned instead."""
        try:
            result = fn()
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.failed(exc)
            return default
        self.ok()
        return result

    def probe(self) -> bool:
        """One cheap round trip; True when the database answers (which ends an outage)."""

        def ping() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True

        return bool(self.call(ping, default=False))


class WriteBuffer:
    """Writes that must not be lost to an outage, written in order once the database is back."""

    def __init__(self, *, watch: OutageWatch, size: int = BUFFER_SIZE) -> None:
        self.watch = watch
        watch.buffer = self
        self.size = size
        self.lost = 0
        self.written_late = 0
        self._queue: deque[tuple[str, Callable[[], Any]]] = deque()
        self._lock = threading.Lock()
        self._draining = False
        self.defer = False  # True: every write waits for drain() (a shutdown drains them under its deadline)

    @property
    def pending(self) -> int:
        return len(self._queue)

    def _keep(self, label: str, write: Callable[[], Any], *, first: bool = False) -> None:
        with self._lock:
            if len(self._queue) >= self.size:
                self.lost += 1
                if self.lost == 1 or self.lost % 100 == 0:
                    logger.warning(
                        "database write buffer full; write lost",
                        extra={"component": self.watch.component, "what": label, "lost": self.lost},
                    )
                return
            if first:
                self._queue.appendleft((label, write))
            else:
                self._queue.append((label, write))

    def submit(self, label: str, write: Callable[[], Any]) -> Any:
        """Write now, or keep the write for later; returns ``write()``'s result, or None when kept.

        While older writes wait, a new one waits behind them, so the order is the order they happened.
        """
        with self._lock:
            behind = bool(self._queue) or self._draining or self.defer
        if behind:
            self._keep(label, write)
            return None
        try:
            result = write()
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.watch.failed(exc)
            self._keep(label, write, first=True)  # it happened before anything queued meanwhile
            return None
        self.watch.ok()
        return result

    def drain(self) -> int:
        """Write what waits, oldest first, until done or the database fails again; returns how many."""
        with self._lock:
            if self._draining or not self._queue:
                return 0
            self._draining = True
        written = 0
        try:
            while True:
                with self._lock:
                    if not self._queue:
                        break
                    label, write = self._queue[0]
                try:
                    write()
                except Exception as exc:
                    if is_outage(exc):
                        self.watch.failed(exc)
                        break
                    logger.exception("a buffered database write failed; dropped", extra={"what": label})
                    self.lost += 1
                else:
                    written += 1
                    self.watch.ok()
                with self._lock:
                    self._queue.popleft()
        finally:
            with self._lock:
                self._draining = False
        if written:
            self.written_late += written
            logger.info(
                "buffered database writes done",
                extra={"component": self.watch.component, "written": written, "left": self.pending},
            )
        return written

    def tick(self) -> None:
        """From a loop: write what waits, or probe when the database was away (ends the outage)."""
        if self._queue:
            self.drain()
        elif self.watch.down:
            self.watch.probe()


_watches: dict[str, OutageWatch] = {}
_buffers: dict[str, WriteBuffer] = {}
_registry_lock = threading.Lock()
# The bot child is started with BLACKSKY_PROCESS=bot-child (settings.py); the supervisor names itself.
_component = "child" if os.environ.get("BLACKSKY_PROCESS") == "bot-child" else "process"


def component_set(name: str) -> None:
    """Name this process's component ("supervisor", "child", "web") for the log lines."""
    global _component
    _component = name
    watch = _watches.get("process")
    if watch is not None:
        watch.component = name


def outage_watch() -> OutageWatch:
    """This process's watch (one per process: the supervisor and the child are separate processes)."""
    with _registry_lock:
        watch = _watches.get("process")
        if watch is None:
            watch = _watches["process"] = OutageWatch(component=_component)
        return watch


def write_buffer() -> WriteBuffer:
    """This process's buffer of event writes, reporting through :func:`outage_watch`."""
    watch = outage_watch()
    with _registry_lock:
        buffer = _buffers.get("process")
        if buffer is None:
            buffer = _buffers["process"] = WriteBuffer(watch=watch)
        return buffer
