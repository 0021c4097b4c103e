"""Client-side bounds on database calls, for every process (web, worker, bot child).

A server that stops answering (a frozen VM, a SIGSTOPped postgres) leaves its sockets open and its
kernel still acknowledges: neither ``statement_timeout`` (the server is not running) nor TCP
keepalives (the peer answers them) ever fire, and a query waits forever. So a watchdog thread cuts
the socket of any query that outlives its deadline: the blocked call then fails at once with an
``OperationalError``, which the callers treat as a database outage.

- Every statement gets ``DB_STATEMENT_TIMEOUT`` plus a margin (the server's own timeout answers
  first when the server is alive), installed by :func:`install` on each new connection.
- :func:`db_deadline` bounds everything one thread does on the database for a while (``/healthz``,
  the shutdown path): the health ping and commits too, not only ``execute``.

Connecting is bounded by the driver (``connect_timeout``), not here: before it returns there is no
socket to cut.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)

MARGIN = 1.0  # seconds past the server-side statement_timeout before the client cuts
_POLL = 0.1

_lock = threading.Lock()
_armed: dict[int, tuple[float, Any]] = {}  # token -> (monotonic deadline, Django connection wrapper)
_ids = itertools.count(1)
_watchdog: threading.Thread | None = None
_local = threading.local()
_wrappers: weakref.WeakSet[Any] = weakref.WeakSet()  # every connection wrapper of this process, all threads


def _cut(wrapper: Any) -> None:
    """Make the query blocked on ``wrapper``'s connection fail now, from another thread."""
    raw = getattr(wrapper, "connection", None)
    if raw is None:
        return
    interrupt = getattr(raw, "interrupt", None)  # sqlite3: made for exactly this
    if interrupt is not None:
        interrupt()
        return
    try:
        fd = raw.fileno()
    except Exception:  # already closed
        return
    # shutdown() acts on the socket, not the descriptor: the duplicate leaves the driver's fd valid.
    with contextlib.suppress(OSError), socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.shutdown(socket.SHUT_RDWR)


def _watch() -> None:
    while True:
        time.sleep(_POLL)
        now = time.monotonic()
        with _lock:
            due = [(token, wrapper) for token, (deadline, wrapper) in _armed.items() if now >= deadline]
            for token, _wrapper in due:
                del _armed[token]
        for token, wrapper in due:
            logger.info("database call cut at its deadline", extra={"alias": wrapper.alias, "token": token})
            _cut(wrapper)


def _arm(wrapper: Any, deadline: float) -> int:
    global _watchdog
    token = next(_ids)
    with _lock:
        _armed[token] = (deadline, wrapper)
        if _watchdog is None or not _watchdog.is_alive():
            _watchdog = threading.Thread(target=_watch, name="db-deadline", daemon=True)
            _watchdog.start()
    return token


def _disarm(token: int) -> None:
    with _lock:
        _armed.pop(token, None)


def _deadline_now() -> float | None:
    return getattr(_local, "deadline", None)


@contextlib.contextmanager
def db_deadline(*, seconds: float, using: str = "default") -> Iterator[float]:
    """Everything this thread does on the database within the block ends by ``seconds`` from now.

    A query still running then fails with an ``OperationalError``; a statement started after the
    deadline fails at once. Nested blocks keep the earlier deadline.
    """
    from django.db import connections

    outer = _deadline_now()
    deadline = time.monotonic() + max(0.0, seconds)
    if outer is not None:
        deadline = min(deadline, outer)
    _local.deadline = deadline
    token = _arm(connections[using], deadline)
    try:
        yield deadline
    finally:
        _disarm(token)
        _local.deadline = outer


class _StatementBound:
    """A Django execute wrapper: each statement ends by ``DB_STATEMENT_TIMEOUT`` + MARGIN."""

    def __init__(self, wrapper: Any, seconds: float) -> None:
        self.wrapper = wrapper
        self.seconds = seconds

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        from django.db import OperationalError

        deadline = time.monotonic() + self.seconds
        outer = _deadline_now()
        if outer is not None:
            if time.monotonic() >= outer:
                raise OperationalError("database deadline passed before the statement started")
            deadline = min(deadline, outer)
        token = _arm(self.wrapper, deadline)
        try:
            return execute(sql, params, many, context)
        finally:
            _disarm(token)


def _bounded_call(wrapper: Any, call: Any, seconds: float) -> Any:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        deadline = time.monotonic() + seconds
        outer = _deadline_now()
        token = _arm(wrapper, deadline if outer is None else min(deadline, outer))
        try:
            return call(*args, **kwargs)
        finally:
            _disarm(token)

    bounded.__wrapped__ = call  # type: ignore[attr-defined]
    return bounded


def install(sender: Any = None, *, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: bound every statement of this connection wrapper (once).

    Besides ``execute``, Django talks to the server in its health check (``is_usable``, a bare
    ``SELECT 1`` after ``close_old_connections``), in ``commit`` and in ``rollback``: each would wait
    forever on a frozen server, so they get the same bound.
    """
    from django.conf import settings

    if settings.DB_STATEMENT_BOUND is None:  # `manage.py migrate`: see settings.py
        return
    if any(isinstance(w, _StatementBound) for w in connection.execute_wrappers):
        return
    with _lock:
        _wrappers.add(connection)
    seconds = settings.DB_STATEMENT_BOUND + MARGIN
    connection.execute_wrappers.append(_StatementBound(connection, seconds))
    for name in ("is_usable", "_commit", "_rollback"):
        setattr(connection, name, _bounded_call(connection, getattr(connection, name), seconds))


def connections_recheck() -> None:
    """After an outage: every thread's connection is checked (one bounded ``SELECT 1``) before its
    next query, so a link the restarted server dropped is replaced instead of failing once more.

    Django's own health check (``CONN_HEALTH_CHECKS``) runs only when its flag is cleared; clearing
    it from another thread is a plain attribute write the owner reads before its next cursor.
    """
    with _lock:
        wrappers = list(_wrappers)
    for wrapper in wrappers:
        wrapper.health_check_done = False
