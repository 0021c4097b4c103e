"""Backups of a session's live store, for the supervisor, the bot child, the django-q2 worker and the admin.

Made, verified before they are visible, checked again daily, rotated.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from blacksky_site.tempfiles import describe_disk_error, is_disk_full
from sessions_store import crypto
from sessions_store.lease import StaleFencing, lease_fence_check
from sessions_store.models import SessionBackup, SessionLock, WhatsAppSession
from sessions_store.selectors import backup_archive_bytes, backups_list, sessions_list
from sessions_store.snapshot import (
    Archive,
    ArchiveError,
    archive_check_restorable,
    archive_content_digest,
    archive_decode,
    archive_encode,
    archive_from_store,
)
from sessions_store.store import StoreError, store_for

from .credentials import session_credentials_sync
from .locks import SessionLockBusy, session_lock_acquire, session_lock_release
from .sessions import SessionStoreError, session_get_or_create

logger = logging.getLogger("sessions_store.services")

FAILED_RETENTION = timedelta(days=1)

Wrap = Callable[[Iterable[Any]], Iterable[Any]]


def _no_wrap(items: Iterable[Any]) -> Iterable[Any]:
    return items


class BackupDiskFull(SessionStoreError):
    """The disk (or database) had no room for the backup; nothing was stored."""


@dataclass(frozen=True)
class VerifyResult:
    backup_id: int
    session_name: str
    created_at: datetime
    reason: str
    state: str
    ok: bool
    detail: str = ""


def backup_create(*, session_name: str, reason: str, fencing: int | None = None) -> SessionBackup | None:
    """Snapshot, encrypt, verify and store one backup of the session's live store.

    Returns the ``verified`` row, a ``failed`` row (with ``state_reason``) when it could not be
    made, or ``None`` with a logged reason when there is nothing to back up (no device row, an
    unchanged store on a scheduled run), another backup of the session is running, or the writer's
    ``fencing`` (a bot child's lease number) is stale: a paused owner's store is not the newest.
    """
    if reason not in SessionBackup.Reason.values:
        raise SessionStoreError(f"Unknown backup reason {reason!r}.")
    session = session_get_or_create(name=session_name)
    store = store_for(session_name)
    health = store.health()
    log = {"session": session_name, "backup_reason": reason}
    if not health.healthy:
        logger.info("backup skipped", extra={**log, "reason": f"store is {health.status}: {health.reason}"})
        return None
    try:
        lock = session_lock_acquire(session=session, kind=SessionLock.Kind.BACKUP)
    except SessionLockBusy as exc:
        logger.info("backup skipped", extra={**log, "reason": str(exc)})
        return None
    try:
        try:
            archive = archive_from_store(store)
            archive_check_restorable(archive)
            raw = archive_encode(archive)
            content = archive_content_digest(raw)
            newest = backups_list(session_name=session_name, states=(SessionBackup.State.VERIFIED,)).first()
            unchanged = newest and newest.content_sha256 == content
            if (
                reason == SessionBackup.Reason.SCHEDULED
                and unchanged
                and newest.store_generation == archive.store_generation
            ):
                # The store still equals that backup: it is as good as new (last_backup_at says so).
                now = timezone.now()
                SessionBackup.objects.filter(pk=newest.pk).update(verified_at=now)
                WhatsAppSession.objects.filter(pk=session.pk).update(last_backup_at=now)
                logger.info("backup skipped", extra={**log, "reason": f"unchanged since backup #{newest.pk}"})
                return None
            packed = crypto.pack(raw, session_name=session_name, archive_id=str(uuid.uuid4()))
            # Visible only when whole: open what will be stored before the row says "verified" (its
            # checksum was just taken of these very bytes; decryption authenticates every one of them).
            opened = crypto.unpack(packed.stored, owner=session_name, archive_id=packed.archive_id)
            back = archive_decode(opened, materialize=False)
            if back.extra["row_counts"] != archive.row_counts or back.device_jid != archive.device_jid:
                raise ArchiveError("The archive read back differs from the snapshot.")
        except (StoreError, ArchiveError, crypto.CryptoError) as exc:
            failed = SessionBackup.objects.create(
                session=session, reason=reason, state=SessionBackup.State.FAILED, state_reason=str(exc)[:300]
            )
            logger.error("backup failed", extra={**log, "backup_id": failed.pk, "reason": str(exc)})
            return failed
        now = timezone.now()
        try:
            backup = _backup_store_row(
                session,
                now=now,
                reason=reason,
                raw=raw,
                content=content,
                packed=packed,
                archive=archive,
                store=store,
                fencing=fencing,
            )
        except StaleFencing as exc:
            logger.warning("backup refused: the lease moved on", extra={**log, "reason": str(exc)})
            return None
        except (DatabaseError, OSError) as exc:
            if not is_disk_full(exc):
                raise
            # The transaction rolled back: no row claims bytes that were never written.
            fields = describe_disk_error(exc, _database_path())
            logger.error("backup failed: disk full", extra={**log, **fields})
            raise BackupDiskFull(
                f"No space left to store the backup of {session_name!r} ({fields['free_bytes']} bytes free at "
                f"{fields['path']}); nothing was stored."
            ) from exc
    finally:
        session_lock_release(lock=lock)
    logger.info(
        "backup created",
        extra={
            **log,
            "backup_id": backup.pk,
            "generation": backup.store_generation,
            "raw_bytes": backup.raw_size,
            "stored_bytes": backup.stored_size,
        },
    )
    backups_rotate(session_name=session_name)
    if reason != SessionBackup.Reason.PRE_RESTORE:
        session_credentials_sync(session_name=session_name, archive=archive)
    return backup


def _database_path() -> str:
    """Where the Django database writes (the file for SQLite, the server otherwise)."""
    db = settings.DATABASES["default"]
    return (
        str(Path(db["NAME"]).parent)
        if db["ENGINE"].endswith("sqlite3")
        else f"{db.get('HOST') or 'localhost'}:{db['NAME']}"
    )


def _backup_store_row(
    session: WhatsAppSession,
    *,
    now: datetime,
    reason: str,
    raw: bytes,
    content: str,
    packed: crypto.Packed,
    archive: Any,
    store: Any,
    fencing: int | None = None,
) -> SessionBackup:
    """The verified row and the session's last_backup_at, in one transaction (refused if ``fencing`` is stale)."""
    with transaction.atomic():
        if fencing is not None:
            lease_fence_check(session_name=session.name, fencing=fencing)
        backup = SessionBackup.objects.create(
            session=session,
            created_at=now,
            reason=reason,
            format_version=raw[6],
            source_backend=store.backend,
            device_jid=archive.device_jid,
            raw_size=len(raw),
            stored_size=len(packed.stored),
            sha256=packed.sha256,
            content_sha256=content,
            key_id=packed.key_id,
            archive_id=packed.archive_id,
            store_generation=archive.store_generation,
            state=SessionBackup.State.VERIFIED,
            verified_at=now,
            row_counts=archive.row_counts,
            archive=packed.stored,
        )
        WhatsAppSession.objects.filter(pk=session.pk).update(last_backup_at=now)
    return backup


def backup_open(*, backup: SessionBackup) -> Archive:
    """Checksum, decrypt and parse one backup; raises ``ArchiveError``/``CryptoError`` with the reason.

    The archive must be bound to the row's session and archive id (``crypto.ForeignArchiveError``
    names the owner of one moved or swapped in). An unbound one (made before binding, the row has
    no archive id) is accepted with a warning, so backups taken before an upgrade still restore.
    """
    stored = backup_archive_bytes(backup_id=backup.pk)
    if not stored:
        raise ArchiveError("The backup has no stored bytes.")
    session_name = backup.session.name
    archive_id = str(backup.archive_id) if backup.archive_id else None
    opened = crypto.open_stored(stored, expected_sha256=backup.sha256, owner=session_name, archive_id=archive_id)
    if opened.binding is None:
        logger.warning(
            "backup accepted unbound",
            extra={
                "session": session_name,
                "backup_id": backup.pk,
                "reason": "made before archives named their session; the next backup is bound",
            },
        )
    archive = archive_decode(opened.raw)
    archive_check_restorable(archive)
    if backup.row_counts and archive.row_counts != backup.row_counts:
        raise ArchiveError("The row counts differ from those recorded when the backup was made.")
    if archive.store_generation != backup.store_generation:
        raise ArchiveError(
            f"The archive is of store generation {archive.store_generation}, its row says {backup.store_generation}."
        )
    return archive


def backup_mark(backup: SessionBackup, *, ok: bool, detail: str = "") -> None:
    state = SessionBackup.State.VERIFIED if ok else SessionBackup.State.CORRUPT
    SessionBackup.objects.filter(pk=backup.pk).update(
        state=state, state_reason=detail[:300], verified_at=timezone.now() if ok else backup.verified_at
    )
    backup.state, backup.state_reason = state, detail[:300]


def backups_verify(*, session_name: str | None = None, wrap: Wrap = _no_wrap) -> list[VerifyResult]:
    """Open every verified or corrupt backup again; mark each ``verified`` or ``corrupt``."""
    states = (SessionBackup.State.VERIFIED, SessionBackup.State.CORRUPT)
    results = []
    for backup in wrap(list(backups_list(session_name=session_name, states=states))):
        try:
            backup_open(backup=backup)
            ok, detail = True, ""
        except (ArchiveError, crypto.CryptoError) as exc:
            ok, detail = False, str(exc)
            logger.warning(
                "backup corrupt", extra={"backup_id": backup.pk, "session": backup.session.name, "reason": detail}
            )
        backup_mark(backup, ok=ok, detail=detail)
        results.append(
            VerifyResult(backup.pk, backup.session.name, backup.created_at, backup.reason, backup.state, ok, detail)
        )
    return results


def backups_rotate(*, session_name: str | None = None, keep: int | None = None, now: datetime | None = None) -> int:
    """Keep the newest ``keep`` (SESSION_BACKUP_KEEP) verified backups per session, never fewer
    than one; drop failed and corrupt rows older than a day. Returns how many rows went."""
    keep = max(1, keep if keep is not None else settings.SESSION_BACKUP_KEEP)
    cutoff = (now or timezone.now()) - FAILED_RETENTION
    removed = 0
    for session in sessions_list(name=session_name):
        verified = list(
            SessionBackup.objects.filter(session=session, state=SessionBackup.State.VERIFIED)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )
        if len(verified) > keep:
            removed += SessionBackup.objects.filter(pk__in=verified[keep:]).delete()[0]
        removed += SessionBackup.objects.filter(
            session=session,
            state__in=(SessionBackup.State.FAILED, SessionBackup.State.CORRUPT),
            created_at__lt=cutoff,
        ).delete()[0]
    if removed:
        logger.info("backups rotated", extra={"session": session_name or "all", "removed": removed})
    return removed
