"""The backup and restore locks of a session, for every process that backs up or restores a store.

One ``SessionLock`` row per session and kind; taking it is a compare-and-set on its token, so two
processes racing for it get one winner on SQLite and PostgreSQL alike. The holder (host, pid,
process start, and the lease's token and fencing when the holder owns the session's lease) is
recorded, so a lock whose holder died is taken over at once instead of after a fixed time; the
rules are ``sessions_store.holders``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sessions_store.holders import Holder, LeaseSeen, holder_gone, this_process
from sessions_store.lease import lease_db_now
from sessions_store.models import SessionLease, SessionLock, WhatsAppSession
from sessions_store.store import this_host

from .sessions import SessionStoreError

logger = logging.getLogger("sessions_store.services")


class SessionLockBusy(SessionStoreError):
    """Another live process holds the lock; the message names it."""


@dataclass(frozen=True)
class HeldLock:
    session_id: int
    session_name: str
    kind: str
    token: str


def _lease_seen(session: WhatsAppSession) -> LeaseSeen | None:
    row = SessionLease.objects.filter(session=session).values("token", "fencing", "expires_at").first()
    return LeaseSeen(row["token"], row["fencing"], row["expires_at"]) if row and row["token"] else None


def _me(session: WhatsAppSession, now: datetime) -> Holder:
    """This process, with the lease when it or its parent (a bot child's supervisor) holds it."""
    lease = SessionLease.objects.filter(session=session, holder_host=this_host()).first()
    mine = (
        lease is not None
        and lease.token
        and lease.holder_pid in (os.getpid(), os.getppid())
        and lease.expires_at is not None
        and lease.expires_at > now
    )
    return this_process(lease_token=lease.token, lease_fencing=lease.fencing) if mine else this_process()


def _holder(row: SessionLock) -> Holder:
    return Holder(row.holder_host, row.holder_pid, row.holder_started, row.lease_token, row.lease_fencing)


def session_lock_acquire(*, session: WhatsAppSession, kind: str) -> HeldLock:
    """Take the session's ``kind`` lock, taking it over when its holder is provably gone.

    Raises ``SessionLockBusy`` (naming the holder) while a live holder has it.
    """
    if kind not in SessionLock.Kind.values:
        raise SessionStoreError(f"Unknown lock kind {kind!r}.")
    row, _ = SessionLock.objects.get_or_create(session=session, kind=kind)
    for _ in range(3):  # a lost race re-reads the row: the winner may already be done, or dead
        now = lease_db_now()
        me = _me(session, now)
        token = secrets.token_hex(8)
        why = ""
        if row.token:
            why = holder_gone(
                holder=_holder(row), acquired_at=row.acquired_at, now=now, here=this_host(), lease=_lease_seen(session)
            )
            if not why:
                since = row.acquired_at.isoformat(timespec="seconds") if row.acquired_at else "?"
                raise SessionLockBusy(
                    f"another {kind} of session {session.name} is running ({_holder(row)} since {since})"
                )
        taken = SessionLock.objects.filter(pk=row.pk, token=row.token).update(
            token=token,
            holder_host=me.host[:255],
            holder_pid=me.pid,
            holder_started=me.started[:80],
            lease_token=me.lease_token,
            lease_fencing=me.lease_fencing,
            acquired_at=now,
        )
        if taken:
            if why:
                logger.warning(
                    "lock taken over",
                    extra={"session": session.name, "lock": kind, "previous_holder": str(_holder(row)), "reason": why},
                )
            return HeldLock(session.pk, session.name, kind, token)
        row.refresh_from_db()
    raise SessionLockBusy(f"another {kind} of session {session.name} is running ({_holder(row)})")


def session_lock_release(*, lock: HeldLock) -> None:
    """Give the lock up (no-op when it was taken over meanwhile)."""
    SessionLock.objects.filter(session_id=lock.session_id, kind=lock.kind, token=lock.token).update(
        token="", holder_host="", holder_pid=None, holder_started="", lease_token="", lease_fencing=None
    )


@contextlib.contextmanager
def session_lock(*, session: WhatsAppSession, kind: str) -> Iterator[HeldLock]:
    """``with session_lock(...)``: held inside the block, released after it, whatever happens."""
    lock = session_lock_acquire(session=session, kind=kind)
    try:
        yield lock
    finally:
        session_lock_release(lock=lock)


def session_lock_busy(*, session_name: str, kind: str) -> str:
    """Who holds the lock while a live holder does ("" when it is free or its holder is gone)."""
    row = SessionLock.objects.filter(session__name=session_name, kind=kind).select_related("session").first()
    if row is None or not row.token:
        return ""
    gone = holder_gone(
        holder=_holder(row),
        acquired_at=row.acquired_at,
        now=lease_db_now(),
        here=this_host(),
        lease=_lease_seen(row.session),
    )
    return "" if gone else str(_holder(row))
