"""Keeping a session lease alive (:class:`LeaseKeeper`) and standing by for one (:func:`lease_wait`).

Imported by the supervisor and the fleet (``runbot``). The rows and the compare-and-set live in
:mod:`sessions_store.lease`; here is only the timing, all of it in monotonic seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connection

from sessions_store import lease as rows
from sessions_store.lease import Lease, Monotonic, lease_current

logger = logging.getLogger("sessions_store.lease")

RENEW_INTERVAL = rows.RENEW_INTERVAL


class LeaseKeeper:
    """Keeps a lease alive and says at once when it is gone.

    ``step(now)`` renews when ``interval`` has passed since the last renewal and returns whether the
    lease is still held; the supervisor calls it from its loop. ``start()`` runs the same steps on a
    daemon thread instead (``on_lost`` then runs on that thread: make it only signal the supervisor).
    All times here are monotonic seconds (``clock``); the database decides expiry.

    A renewal the database refuses (stolen, expired) calls ``on_lost`` at once. A renewal that raises
    a database error is retried over a fresh connection every ``retry_interval`` seconds (2 s, or a
    quarter of ``interval`` when that is shorter); ``on_lost`` is called when the lease's remaining
    life (``valid_until``) falls below ``margin`` (a third of the TTL by default), so the child is
    stopped before another process may take over. ``on_renewed(lease)`` runs after each renewal (the
    supervisor hands the child its new deadline there).
    """

    def __init__(
        self,
        *,
        lease: Lease,
        on_lost: Callable[[str], None],
        interval: float = RENEW_INTERVAL,
        retry_interval: float | None = None,
        margin: float | None = None,
        clock: Monotonic = time.monotonic,
        on_renewed: Callable[[Lease], None] | None = None,
    ) -> None:
        self.lease = lease
        self.on_lost = on_lost
        self.on_renewed = on_renewed
        self.interval = interval
        self.retry_interval = min(2.0, interval / 4) if retry_interval is None else retry_interval
        self.margin = margin if margin is not None else lease.ttl.total_seconds() / 3
        self.clock = clock
        self.lost_reason = ""
        self.renewals = 0
        self.next_at = clock() + self.interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return not self.lost_reason

    def step(self, now: float | None = None) -> bool:
        """Renew when due; True while the lease is held."""
        if self.lost_reason:
            return False
        now = self.clock() if now is None else now
        if now >= self.lease.valid_until:
            return self._lose("expired")  # a paused or stalled holder wakes up past its bound: never renew
        if now < self.next_at:
            return True
        try:
            renewed = rows.lease_renew(lease=self.lease, clock=lambda: now)
        except DatabaseError as exc:
            remaining = self.lease.valid_until - now
            logger.warning(
                "lease renewal failed",
                extra={
                    "session": self.lease.session_name,
                    "error": type(exc).__name__,
                    "valid_for_s": round(remaining, 1),
                },
            )
            if not connection.in_atomic_block:  # never pull a connection out from under a transaction
                try:
                    close_old_connections()  # a broken connection is replaced at the next try, not reused
                except DatabaseError:
                    pass
            if remaining <= self.margin:
                return self._lose("database_unreachable")
            self.next_at = now + self.retry_interval
            return True
        if not renewed:
            return self._lose("stolen")
        self.renewals += 1
        self.next_at = now + self.interval
        if self.on_renewed is not None:
            self.on_renewed(self.lease)
        return True

    def _lose(self, reason: str) -> bool:
        self.lost_reason = reason
        logger.error(
            "lease lost, stopping the session",
            extra={"session": self.lease.session_name, "fencing": self.lease.fencing, "reason": reason},
        )
        self.on_lost(reason)
        return False

    def start(self, tick: float = 1.0) -> None:
        """Run ``step`` every ``tick`` seconds on a daemon thread until ``stop`` or the lease is lost."""

        def run() -> None:
            try:
                while not self._stop.wait(tick):
                    try:
                        if not self.step():
                            break
                    except Exception:  # never let the keeper die silently
                        logger.exception("lease keeper step crashed", extra={"session": self.lease.session_name})
            finally:
                connection.close()

        self._thread = threading.Thread(target=run, name=f"lease-keeper-{self.lease.session_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


#: Seconds between a standby's tries. A released lease is taken at the next try, so this bounds the
#: handover after a SIGTERM (the owner releases at once); one conditional UPDATE a second is cheap.
STANDBY_POLL = 1.0
#: Seconds between a standby's read-only looks at the row in between (``lease_wait(check=...)``): a
#: released lease is tried at once instead of at the next poll, for one indexed SELECT per look.
STANDBY_CHECK = 0.2


def lease_wait(
    *,
    session_name: str,
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: float | timedelta,
    poll: float | None = None,
    check: float | None = None,
    wait: Callable[[float], bool] | None = None,
    clock: Monotonic = time.monotonic,
) -> Lease | None:
    """Hot standby: take the lease, or log "standing by" and retry every ``poll`` seconds until taken.

    ``check`` (seconds, shorter than ``poll``): between tries, look at the row (a read, no write lock)
    that often and try at once when it is free, so a released lease is taken within ``check``.
    ``wait(seconds)`` pauses between tries and returns True to give up (a shutdown signal); the default
    waits on nothing and never gives up. Returns the lease, or None when told to give up.
    """
    ttl = rows.lease_ttl(ttl)
    poll = poll if poll is not None else min(ttl.total_seconds() / 3, STANDBY_POLL)
    if wait is None:
        never = threading.Event()
        wait = never.wait
    identity = {"holder_host": holder_host, "holder_pid": holder_pid, "token": token, "ttl": ttl, "clock": clock}
    standing_by = False
    while True:
        lease = rows.lease_acquire(session_name=session_name, **identity)
        if lease is not None:
            if standing_by:
                logger.info("standby took over", extra={"session": session_name, "fencing": lease.fencing})
            return lease
        if not standing_by:
            row = lease_current(session_name=session_name)
            logger.info(
                "standing by",
                extra={
                    "session": session_name,
                    "holder": row.holder if row else "-",
                    "expires_at": row.expires_at.isoformat() if row and row.expires_at else "-",
                },
            )
            standing_by = True
        if _wait_free(session_name, poll=poll, check=check, wait=wait):
            return None


def _wait_free(session_name: str, *, poll: float, check: float | None, wait: Callable[[float], bool]) -> bool:
    """Wait ``poll`` seconds, or less once a look every ``check`` seconds finds the lease free; True: give up."""
    if check is None or check >= poll:
        return wait(poll)
    waited = 0.0
    while waited < poll:
        step = min(check, poll - waited)
        if wait(step):
            return True
        waited += step
        if waited < poll and rows.lease_looks_free(session_name=session_name):
            return False
    return False
