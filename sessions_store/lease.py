"""One owner per WhatsApp session: a database lease with compare-and-set renewal and a fencing counter.

Two connections on one WhatsApp session kick each other off forever, so the supervisor takes the
session's lease before anything touches the session and gives up the session the moment it loses it.

- :func:`lease_acquire` takes the lease when it is free, released or expired. Every takeover is one
  ``UPDATE ... WHERE fencing = <seen>`` that also increments ``fencing``: of two processes racing
  for it exactly one updates a row, on SQLite and on PostgreSQL alike, without holding locks.
- :func:`lease_renew` extends it only while token and fencing still match and it has not expired;
  a False means someone else may own the session now: stop the bot child at once.
- :class:`LeaseKeeper` renews every ``interval`` seconds from the supervisor loop (``step``) or its
  own thread (``start``) and calls ``on_lost`` as soon as a renewal fails, before the TTL runs out.
- :func:`lease_wait` is the hot standby: it logs "standing by" and returns once it took the lease.

Expiry is compared against the caller's clock (``now``), so hosts must keep NTP time, as cloud hosts
do; the fencing number is also handed to the child so stale writers can be told apart.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from sessions_store.models import SessionLease, WhatsAppSession

logger = logging.getLogger(__name__)

RENEW_INTERVAL = 10.0  # seconds between renewals; LEASE_TTL (30 s) leaves room for two misses


@dataclass
class Lease:
    """What a holder knows about the lease it holds (the row is the truth)."""

    session_name: str
    holder_host: str
    holder_pid: int
    token: str
    fencing: int
    ttl: timedelta
    acquired_at: datetime
    expires_at: datetime


def lease_token() -> str:
    """A fresh random holder id for this process."""
    return secrets.token_hex(16)


def lease_identity() -> dict[str, object]:
    """``holder_host``, ``holder_pid`` and a new ``token`` for this process, ready to pass as kwargs."""
    return {"holder_host": socket.gethostname(), "holder_pid": os.getpid(), "token": lease_token()}


def _ttl(ttl: float | timedelta) -> timedelta:
    value = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
    if value <= timedelta(0):
        raise ValueError("lease ttl must be positive")
    return value


def _lease_row(session_name: str) -> SessionLease:
    """The session's lease row, created (with its session row) when missing.

    ``get_or_create`` re-reads after an IntegrityError, so two processes creating it at once is fine.
    """
    try:
        validate_slug(session_name)
    except ValidationError:
        raise ValueError(f"session name {session_name!r} must be a slug (letters, digits, - and _)") from None
    session, _ = WhatsAppSession.objects.get_or_create(name=session_name)
    row, _ = SessionLease.objects.get_or_create(session=session)
    return row


def _free(now: datetime) -> Q:
    return Q(token="") | Q(expires_at__isnull=True) | Q(expires_at__lte=now)


def _take(
    row: SessionLease,
    *,
    session_name: str,
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: timedelta,
    now: datetime,
) -> Lease | None:
    """The compare-and-set takeover of one row seen with ``row.fencing``."""
    expires = now + ttl
    holder = f"{holder_host}:{holder_pid}:{token[:8]}"[:128]
    updated = SessionLease.objects.filter(_free(now), pk=row.pk, fencing=row.fencing).update(
        holder=holder,
        holder_host=holder_host[:255],
        holder_pid=holder_pid,
        token=token,
        fencing=F("fencing") + 1,
        acquired_at=now,
        renewed_at=now,
        expires_at=expires,
    )
    if updated != 1:
        return None
    lease = Lease(session_name, holder_host, holder_pid, token, row.fencing + 1, ttl, now, expires)
    logger.info(
        "lease acquired",
        extra={"session": session_name, "fencing": lease.fencing, "previous_holder": row.holder or "-"},
    )
    return lease


def lease_acquire(
    *,
    session_name: str,
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: float | timedelta,
    now: datetime | None = None,
) -> Lease | None:
    """Take the session's lease if it is free or expired; None while someone else holds it.

    A holder that calls it again with its own token gets its lease back renewed (same fencing).
    """
    now = now or timezone.now()
    ttl = _ttl(ttl)
    row = _lease_row(session_name)
    if row.token == token and row.expires_at is not None and row.expires_at > now:
        lease = Lease(session_name, holder_host, holder_pid, token, row.fencing, ttl, row.acquired_at or now, now)
        return lease if lease_renew(lease=lease, now=now) else None
    return _take(
        row, session_name=session_name, holder_host=holder_host, holder_pid=holder_pid, token=token, ttl=ttl, now=now
    )


def lease_acquire_any(
    *,
    session_names: Iterable[str],
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: float | timedelta,
    now: datetime | None = None,
) -> Lease | None:
    """Take the first free lease among ``session_names`` (for ``runbot --all``); None when all are held.

    On PostgreSQL the candidates are picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so several
    supervisors starting together spread over the sessions instead of all fighting for the first.
    """
    now = now or timezone.now()
    ttl = _ttl(ttl)
    names = sorted(set(session_names))
    rows = {name: _lease_row(name) for name in names}
    identity = {"holder_host": holder_host, "holder_pid": holder_pid, "token": token, "ttl": ttl, "now": now}
    if connection.vendor == "postgresql":
        with transaction.atomic():
            candidates = (
                SessionLease.objects.select_for_update(skip_locked=True)
                .filter(_free(now), session__name__in=names)
                .select_related("session")
                .order_by("session__name")
            )
            for row in candidates:
                lease = _take(row, session_name=row.session.name, **identity)
                if lease is not None:
                    return lease
        return None
    for name in names:
        lease = _take(rows[name], session_name=name, **identity)
        if lease is not None:
            return lease
    return None


def lease_renew(*, lease: Lease, now: datetime | None = None) -> bool:
    """Extend a held lease by its TTL; False when it was taken over or has already expired."""
    now = now or timezone.now()
    expires = now + lease.ttl
    updated = SessionLease.objects.filter(
        session__name=lease.session_name, token=lease.token, fencing=lease.fencing, expires_at__gt=now
    ).update(renewed_at=now, expires_at=expires)
    if updated != 1:
        return False
    lease.expires_at = expires
    return True


def lease_release(*, lease: Lease) -> None:
    """Give the lease up at shutdown so a standby takes over at once (no-op if it was lost already)."""
    released = SessionLease.objects.filter(
        session__name=lease.session_name, token=lease.token, fencing=lease.fencing
    ).update(holder="", token="", expires_at=None)
    if released:
        logger.info("lease released", extra={"session": lease.session_name, "fencing": lease.fencing})


def lease_current(*, session_name: str) -> SessionLease | None:
    """The session's lease row, for ``/stats`` and the admin (None before anyone took it)."""
    return SessionLease.objects.filter(session__name=session_name).first()


class LeaseKeeper:
    """Keeps a lease alive and says at once when it is gone.

    ``step(now)`` renews when ``interval`` has passed since the last renewal and returns whether the
    lease is still held; the supervisor calls it from its loop. ``start()`` runs the same steps on a
    daemon thread instead (``on_lost`` then runs on that thread: make it only signal the supervisor).

    A renewal the database refuses (stolen, expired) calls ``on_lost`` at once. A renewal that raises
    a database error is retried over a fresh connection every ``retry_interval`` seconds (2 s, or a
    quarter of ``interval`` when that is shorter); ``on_lost`` is called when the
    lease's remaining life falls below ``margin`` (a third of the TTL by default), so the child is
    stopped before another process may take over.
    """

    def __init__(
        self,
        *,
        lease: Lease,
        on_lost: Callable[[str], None],
        interval: float = RENEW_INTERVAL,
        retry_interval: float | None = None,
        margin: timedelta | None = None,
        clock: Callable[[], datetime] = timezone.now,
    ) -> None:
        self.lease = lease
        self.on_lost = on_lost
        self.interval = timedelta(seconds=interval)
        self.retry_interval = timedelta(seconds=min(2.0, interval / 4) if retry_interval is None else retry_interval)
        self.margin = margin if margin is not None else lease.ttl / 3
        self.clock = clock
        self.lost_reason = ""
        self.renewals = 0
        self.next_at = clock() + self.interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return not self.lost_reason

    def step(self, now: datetime | None = None) -> bool:
        """Renew when due; True while the lease is held."""
        if self.lost_reason:
            return False
        now = now or self.clock()
        if now < self.next_at:
            return True
        if now >= self.lease.expires_at:
            return self._lose("expired", now)
        try:
            renewed = lease_renew(lease=self.lease, now=now)
        except DatabaseError as exc:
            logger.warning(
                "lease renewal failed",
                extra={
                    "session": self.lease.session_name,
                    "error": type(exc).__name__,
                    "expires_at": self.lease.expires_at,
                },
            )
            if not connection.in_atomic_block:  # never pull a connection out from under a transaction
                try:
                    close_old_connections()  # a broken connection is replaced at the next try, not reused
                except DatabaseError:
                    pass
            if self.lease.expires_at - now <= self.margin:
                return self._lose("database_unreachable", now)
            self.next_at = now + self.retry_interval
            return True
        if not renewed:
            return self._lose("stolen", now)
        self.renewals += 1
        self.next_at = now + self.interval
        return True

    def _lose(self, reason: str, now: datetime) -> bool:
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


def lease_wait(
    *,
    session_name: str,
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: float | timedelta,
    poll: float | None = None,
    wait: Callable[[float], bool] | None = None,
    clock: Callable[[], datetime] = timezone.now,
) -> Lease | None:
    """Hot standby: take the lease, or log "standing by" and retry every ``poll`` seconds until taken.

    ``wait(seconds)`` pauses between tries and returns True to give up (a shutdown signal); the default
    waits on nothing and never gives up. Returns the lease, or None when told to give up.
    """
    ttl = _ttl(ttl)
    poll = poll if poll is not None else min(ttl.total_seconds() / 3, 5.0)
    if wait is None:
        never = threading.Event()
        wait = never.wait
    identity = {"holder_host": holder_host, "holder_pid": holder_pid, "token": token, "ttl": ttl}
    standing_by = False
    while True:
        lease = lease_acquire(session_name=session_name, now=clock(), **identity)
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
        if wait(poll):
            return None
