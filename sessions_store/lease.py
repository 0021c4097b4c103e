"""One owner per WhatsApp session: a database lease with compare-and-set renewal and a fencing counter.

Imported by the supervisor, the fleet and the child (the fencing check), never by the web dyno's hot paths.
Two connections on one WhatsApp session kick each other off forever, so the supervisor takes the
session's lease before anything touches the session and gives up the session the moment it loses it.

- :func:`lease_acquire` takes the lease when it is free, released or expired. Every takeover is one
  ``UPDATE ... WHERE fencing = <seen>`` that also increments ``fencing``: of two processes racing
  for it exactly one updates a row, on SQLite and on PostgreSQL alike, without holding locks.
- :func:`lease_renew` extends it only while token and fencing still match and it has not expired;
  a False means someone else may own the session now: stop the bot child at once.
- :class:`sessions_store.lease_keeper.LeaseKeeper` renews from the supervisor loop and calls ``on_lost``
  as soon as a renewal fails; :func:`sessions_store.lease_keeper.lease_wait` is the hot standby.
- :func:`lease_fence_check` refuses a write by a process whose fencing number is no longer the lease's.

**One clock.** Expiry is written and compared by the database (``Now()`` in the statement: PostgreSQL's
clock; SQLite's is the one machine's all its workers share), never a worker's wall clock, so a host whose
clock is minutes off neither steals a live lease nor delays a takeover. Locally a holder counts in
monotonic time: a renewal sent at monotonic ``t`` gives the database an expiry of at least ``t + ttl``
(the statement ran after it was sent), so ``Lease.valid_until = t + ttl`` is a bound no other worker
can take the lease before. The child's fencing deadline is derived from it (``bot/supervisor/ownership.py``).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F, Q
from django.db.models.functions import Now
from django.utils import timezone

from sessions_store.models import SessionLease, WhatsAppSession

logger = logging.getLogger(__name__)

RENEW_INTERVAL = 10.0  # seconds between renewals; LEASE_TTL (30 s) leaves room for two misses

Monotonic = Callable[[], float]


class StaleFencing(Exception):
    """A write by a process whose lease was taken over since (its fencing number is behind)."""


@dataclass
class Lease:
    """What a holder knows about the lease it holds (the row is the truth).

    ``expires_at`` is the database's expiry as last read; ``valid_until`` is the holder's own
    monotonic bound: no other worker can take the lease before it.
    """

    session_name: str
    holder_host: str
    holder_pid: int
    token: str
    fencing: int
    ttl: timedelta
    acquired_at: datetime
    expires_at: datetime
    valid_until: float = 0.0


def lease_token() -> str:
    """A fresh random holder id for this process."""
    return secrets.token_hex(16)


def lease_identity() -> dict[str, object]:
    """``holder_host``, ``holder_pid`` and a new ``token`` for this process, ready to pass as kwargs."""
    return {"holder_host": socket.gethostname(), "holder_pid": os.getpid(), "token": lease_token()}


def lease_ttl(ttl: float | timedelta) -> timedelta:
    value = ttl if isinstance(ttl, timedelta) else timedelta(seconds=ttl)
    if value <= timedelta(0):
        raise ValueError("lease ttl must be positive")
    return value


def _db_later(ttl: timedelta) -> ExpressionWrapper:
    """``now + ttl`` on the database's clock."""
    return ExpressionWrapper(Now() + ttl, output_field=DateTimeField())


def lease_db_now() -> datetime:
    """The database's clock (PostgreSQL ``clock_timestamp()``; SQLite's is this machine's), for whoever
    compares against lease times outside a statement: the fleet's wait, lock takeover rules."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def _lease_row(session_name: str) -> SessionLease:
    """The session's lease row, created (with its session row) when missing.

    ``get_or_create`` re-reads after an IntegrityError, so two processes creating it at once is fine; a
    name whose store another session holds raises ``SessionNameError``.
    """
    try:
        validate_slug(session_name)
    except ValidationError:
        raise ValueError(f"session name {session_name!r} must be a slug (letters, digits, - and _)") from None
    session, _ = WhatsAppSession.objects.named(session_name)
    row, _ = SessionLease.objects.get_or_create(session=session)
    return row


def _free() -> Q:
    return Q(token="") | Q(expires_at__isnull=True) | Q(expires_at__lte=Now())


def _read_times(pk: int) -> tuple[datetime, datetime]:
    acquired_at, expires_at = SessionLease.objects.filter(pk=pk).values_list("acquired_at", "expires_at").get()
    return acquired_at, expires_at


def _take(
    row: SessionLease,
    *,
    session_name: str,
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: timedelta,
    sent: float,
) -> Lease | None:
    """The compare-and-set takeover of one row seen with ``row.fencing``; ``sent`` is when we asked (monotonic)."""
    holder = f"{holder_host}:{holder_pid}:{token[:8]}"[:128]
    updated = SessionLease.objects.filter(_free(), pk=row.pk, fencing=row.fencing).update(
        holder=holder,
        holder_host=holder_host[:255],
        holder_pid=holder_pid,
        token=token,
        fencing=F("fencing") + 1,
        acquired_at=Now(),
        renewed_at=Now(),
        expires_at=_db_later(ttl),
    )
    if updated != 1:
        return None
    acquired_at, expires_at = _read_times(row.pk)
    lease = Lease(session_name, holder_host, holder_pid, token, row.fencing + 1, ttl, acquired_at, expires_at)
    lease.valid_until = sent + ttl.total_seconds()
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
    clock: Monotonic = time.monotonic,
) -> Lease | None:
    """Take the session's lease if it is free or expired (by the database's clock); None while someone holds it.

    A holder that calls it again with its own token gets its lease back renewed (same fencing).
    """
    sent = clock()
    ttl = lease_ttl(ttl)
    row = _lease_row(session_name)
    if row.token == token and row.expires_at is not None:
        lease = Lease(
            session_name,
            holder_host,
            holder_pid,
            token,
            row.fencing,
            ttl,
            row.acquired_at or row.expires_at,
            row.expires_at,
        )
        return lease if lease_renew(lease=lease, clock=clock) else None
    return _take(
        row, session_name=session_name, holder_host=holder_host, holder_pid=holder_pid, token=token, ttl=ttl, sent=sent
    )


def lease_acquire_any(
    *,
    session_names: Iterable[str],
    holder_host: str,
    holder_pid: int,
    token: str,
    ttl: float | timedelta,
    clock: Monotonic = time.monotonic,
) -> Lease | None:
    """Take the first free lease among ``session_names`` (for ``runbot --all``); None when all are held.

    On PostgreSQL the candidates are picked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so several
    supervisors starting together spread over the sessions instead of all fighting for the first.
    """
    sent = clock()
    ttl = lease_ttl(ttl)
    names = sorted(set(session_names))
    rows = {name: _lease_row(name) for name in names}
    identity = {"holder_host": holder_host, "holder_pid": holder_pid, "token": token, "ttl": ttl, "sent": sent}
    if connection.vendor == "postgresql":
        with transaction.atomic():
            candidates = (
                SessionLease.objects.select_for_update(skip_locked=True)
                .filter(_free(), session__name__in=names)
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


def lease_renew(*, lease: Lease, clock: Monotonic = time.monotonic) -> bool:
    """Extend a held lease by its TTL from the database's now; False when it was taken over or has expired."""
    sent = clock()
    updated = SessionLease.objects.filter(
        session__name=lease.session_name, token=lease.token, fencing=lease.fencing, expires_at__gt=Now()
    ).update(renewed_at=Now(), expires_at=_db_later(lease.ttl))
    if updated != 1:
        return False
    lease.valid_until = sent + lease.ttl.total_seconds()
    expires = SessionLease.objects.filter(session__name=lease.session_name).values_list("expires_at", flat=True).first()
    lease.expires_at = expires or lease.expires_at
    return True


def lease_release(*, lease: Lease) -> None:
    """Give the lease up at shutdown so a standby takes over at once (no-op if it was lost already)."""
    released = SessionLease.objects.filter(
        session__name=lease.session_name, token=lease.token, fencing=lease.fencing
    ).update(holder="", token="", expires_at=None)
    lease.valid_until = 0.0
    if released:
        logger.info("lease released", extra={"session": lease.session_name, "fencing": lease.fencing})


def lease_looks_free(*, session_name: str) -> bool:
    """Whether the lease is free or expired right now (a read: a standby's cheap look between its tries)."""
    return SessionLease.objects.filter(_free(), session__name=session_name).exists()


def lease_free_any(*, session_names: Iterable[str]) -> bool:
    """Whether any of these leases is free or expired right now (a read: ``runbot --all``'s look between passes)."""
    return SessionLease.objects.filter(_free(), session__name__in=list(session_names)).exists()


def lease_current(*, session_name: str) -> SessionLease | None:
    """The session's lease row, for ``/stats`` and the admin (None before anyone took it)."""
    return SessionLease.objects.filter(session__name=session_name).first()


def lease_fence_check(*, session_name: str, fencing: int) -> None:
    """Raise :class:`StaleFencing` unless ``fencing`` is still the session's; call it inside the write's transaction.

    On PostgreSQL the lease row is locked (``FOR UPDATE``) until the transaction ends, so a takeover
    waits for the write or the write sees the takeover; SQLite serialises writers by itself.
    """
    rows = SessionLease.objects.filter(session__name=session_name)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        rows = rows.select_for_update()
    current = rows.values_list("fencing", flat=True).first()
    if current != fencing:
        raise StaleFencing(f"session {session_name}: fencing {fencing} is stale (the lease is at {current})")
