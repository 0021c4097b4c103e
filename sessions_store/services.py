"""Writes of the sessions_store app: backups, restores, rotation, status and the env-var export.

A restart of an ephemeral host must never cost a new QR scan: ``session_restore_chain`` (called by
``runbot`` at start) keeps a healthy live store, else restores the newest backup that verifies,
else the ``WA_*`` env vars, else reports that pairing is needed. Backups become visible only once
their bytes were decrypted and parsed back.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from blacksky_site.heroku import HerokuError, heroku_config_vars_set, heroku_configured

from . import crypto
from .envvars import (
    HEROKU_WRITE_BUDGET,
    EnvExport,
    EnvValueError,
    credentials_fingerprint,
    env_archive,
    env_export,
    env_value_decode,
)
from .models import SessionBackup, WhatsAppSession
from .selectors import backup_archive_bytes, backups_list, sessions_list
from .snapshot import (
    Archive,
    ArchiveError,
    archive_check_restorable,
    archive_content_digest,
    archive_decode,
    archive_encode,
    archive_from_store,
    archive_merge,
    archive_with_version_row,
)
from .store import CORRUPT, LiveStore, SqliteStore, StoreError, StoreHealth, store_for, this_host, validate_session_name

logger = logging.getLogger(__name__)

BACKUP_LOCK_STALE = timedelta(minutes=2)
FAILED_RETENTION = timedelta(days=1)
CREDENTIALS_RESYNC_MIN_INTERVAL = timedelta(hours=1)

Wrap = Callable[[Iterable[Any]], Iterable[Any]]


def _no_wrap(items: Iterable[Any]) -> Iterable[Any]:
    return items


class SessionStoreError(Exception):
    """An operation on a session could not be done; the message says why in one sentence."""


@dataclass(frozen=True)
class RestoreOutcome:
    source: str  # live | backup | env_session_data | env_credentials | none
    needs_pairing: bool
    backup_id: int | None = None
    device_jid: str = ""
    detail: str = ""
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class VerifyResult:
    backup_id: int
    session_name: str
    created_at: datetime
    reason: str
    state: str
    ok: bool
    detail: str = ""


# --------------------------------------------------------------------------- sessions


def session_get_or_create(*, name: str) -> WhatsAppSession:
    validate_session_name(name)
    session, _ = WhatsAppSession.objects.get_or_create(name=name)
    return session


def _session_record_store(session: WhatsAppSession, store: LiveStore, **more: Any) -> None:
    fields = {"store_backend": store.backend, "store_location": store.location, **more}
    if isinstance(store, SqliteStore):
        fields["store_host"] = this_host()
    WhatsAppSession.objects.filter(pk=session.pk).update(**fields, updated_at=timezone.now())
    for key, value in fields.items():
        setattr(session, key, value)


def session_mark_status(*, session_name: str, status: str, reason: str = "") -> WhatsAppSession:
    """Record a session's status (``logged_out`` stops automatic restores until it pairs again)."""
    if status not in WhatsAppSession.Status.values:
        raise SessionStoreError(f"Unknown session status {status!r}.")
    session = session_get_or_create(name=session_name)
    session.status = status
    session.status_reason = reason[:200]
    session.save(update_fields=["status", "status_reason", "updated_at"])
    logger.info("session status", extra={"session": session_name, "status": status, "reason": reason})
    return session


def session_mark_connected(*, session_name: str) -> None:
    WhatsAppSession.objects.filter(name=session_name).update(last_connected_at=timezone.now())


def session_mark_paired(*, session_name: str, jid: str, push_name: str = "") -> WhatsAppSession:
    """A pairing succeeded: record it, and put the new credentials into Heroku's config vars when
    ``HEROKU_API_KEY`` and ``HEROKU_APP_NAME`` are set (a failure there is logged, never raised)."""
    session = session_get_or_create(name=session_name)
    now = timezone.now()
    session.jid, session.push_name = jid, push_name[:128]
    session.status, session.status_reason = WhatsAppSession.Status.PAIRED, ""
    session.paired_at = session.last_connected_at = now
    session.save(
        update_fields=["jid", "push_name", "status", "status_reason", "paired_at", "last_connected_at", "updated_at"]
    )
    _session_record_store(session, store_for(session_name))
    logger.info("session paired", extra={"session": session_name, "jid": jid})
    session_credentials_sync(session_name=session_name, paired=True)
    session.refresh_from_db()
    return session


def session_credentials_sync(*, session_name: str, paired: bool = False, archive: Archive | None = None) -> bool:
    """Write WA_CREDENTIALS and WA_AUTH_STATE to the Heroku config vars when the device identity
    changed since the last write. Never per backup: a config-var change restarts the dynos.
    ``archive`` is a snapshot the caller already took (else one is taken now)."""
    if not heroku_configured():
        return False
    session = session_get_or_create(name=session_name)
    if archive is None:
        store = store_for(session_name)
        health = store.health()
        if not health.healthy:
            logger.warning("credentials not exported", extra={"session": session_name, "reason": health.reason})
            return False
        try:
            archive = archive_from_store(store)
        except StoreError as exc:
            logger.warning("credentials not exported", extra={"session": session_name, "reason": str(exc)})
            return False
    fingerprint = credentials_fingerprint(archive)
    if fingerprint == session.credentials_fingerprint:
        return False
    recent = (
        session.credentials_exported_at
        and timezone.now() - session.credentials_exported_at < CREDENTIALS_RESYNC_MIN_INTERVAL
    )
    if recent and not paired:
        logger.info("credentials changed; config vars written recently, waiting", extra={"session": session_name})
        return False
    export = env_export(archive=archive, credentials_only=True, budget=HEROKU_WRITE_BUDGET)
    if export.total > HEROKU_WRITE_BUDGET:
        logger.error(
            "credentials too large for Heroku config vars",
            extra={"session": session_name, "bytes": export.total, "budget": HEROKU_WRITE_BUDGET},
        )
        return False
    values: dict[str, str | None] = dict(export.values)
    values["WA_SESSION_DATA"] = None  # an older whole archive would win over the new credentials
    try:
        heroku_config_vars_set(values=values)
    except HerokuError as exc:
        logger.error("credentials not written to Heroku", extra={"session": session_name, "reason": str(exc)})
        return False
    WhatsAppSession.objects.filter(pk=session.pk).update(
        credentials_fingerprint=fingerprint, credentials_exported_at=timezone.now()
    )
    logger.info(
        "credentials written to Heroku config vars",
        extra={"session": session_name, "bytes": export.total, "jid": archive.device_jid},
    )
    return True


# --------------------------------------------------------------------------- backups


def _backup_lock_acquire(session: WhatsAppSession) -> str | None:
    token = secrets.token_hex(8)
    now = timezone.now()
    free = Q(backup_lock_token="") | Q(backup_lock_at__isnull=True) | Q(backup_lock_at__lt=now - BACKUP_LOCK_STALE)
    taken = (
        WhatsAppSession.objects.filter(pk=session.pk).filter(free).update(backup_lock_token=token, backup_lock_at=now)
    )
    return token if taken else None


def _backup_lock_release(session: WhatsAppSession, token: str) -> None:
    WhatsAppSession.objects.filter(pk=session.pk, backup_lock_token=token).update(
        backup_lock_token="", backup_lock_at=None
    )


def backup_create(*, session_name: str, reason: str) -> SessionBackup | None:
    """Snapshot, encrypt, verify and store one backup of the session's live store.

    Returns the ``verified`` row, a ``failed`` row (with ``state_reason``) when it could not be
    made, or ``None`` with a logged reason when there is nothing to back up (no device row, an
    unchanged store on a scheduled run) or another backup of the session is running.
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
    token = _backup_lock_acquire(session)
    if token is None:
        logger.info("backup skipped", extra={**log, "reason": "another backup of this session is running"})
        return None
    try:
        try:
            archive = archive_from_store(store)
            archive_check_restorable(archive)
            raw = archive_encode(archive)
            content = archive_content_digest(raw)
            newest = backups_list(session_name=session_name, states=(SessionBackup.State.VERIFIED,)).first()
            if reason == SessionBackup.Reason.SCHEDULED and newest and newest.content_sha256 == content:
                logger.info("backup skipped", extra={**log, "reason": f"unchanged since backup #{newest.pk}"})
                return None
            packed = crypto.pack(raw)
            # Visible only when whole: open what will be stored before the row says "verified".
            back = archive_decode(crypto.unpack(packed.stored, expected_sha256=packed.sha256), materialize=False)
            if back.extra["row_counts"] != archive.row_counts or back.device_jid != archive.device_jid:
                raise ArchiveError("The archive read back differs from the snapshot.")
        except (StoreError, ArchiveError, crypto.CryptoError) as exc:
            failed = SessionBackup.objects.create(
                session=session, reason=reason, state=SessionBackup.State.FAILED, state_reason=str(exc)[:300]
            )
            logger.error("backup failed", extra={**log, "backup_id": failed.pk, "reason": str(exc)})
            return failed
        now = timezone.now()
        with transaction.atomic():
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
                state=SessionBackup.State.VERIFIED,
                verified_at=now,
                row_counts=archive.row_counts,
                archive=packed.stored,
            )
            WhatsAppSession.objects.filter(pk=session.pk).update(last_backup_at=now)
    finally:
        _backup_lock_release(session, token)
    logger.info(
        "backup created",
        extra={**log, "backup_id": backup.pk, "raw_bytes": backup.raw_size, "stored_bytes": backup.stored_size},
    )
    backups_rotate(session_name=session_name)
    if reason != SessionBackup.Reason.PRE_RESTORE:
        session_credentials_sync(session_name=session_name, archive=archive)
    return backup


def backup_open(*, backup: SessionBackup) -> Archive:
    """Checksum, decrypt and parse one backup; raises ``ArchiveError``/``CryptoError`` with the reason."""
    stored = backup_archive_bytes(backup_id=backup.pk)
    if not stored:
        raise ArchiveError("The backup has no stored bytes.")
    archive = archive_decode(crypto.unpack(stored, expected_sha256=backup.sha256))
    archive_check_restorable(archive)
    if backup.row_counts and archive.row_counts != backup.row_counts:
        raise ArchiveError("The row counts differ from those recorded when the backup was made.")
    return archive


def _backup_mark(backup: SessionBackup, *, ok: bool, detail: str = "") -> None:
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
        _backup_mark(backup, ok=ok, detail=detail)
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


# --------------------------------------------------------------------------- restore


def store_restore_archive(*, store: LiveStore, archive: Archive, keep_old: bool) -> StoreHealth:
    """Write ``archive`` into ``store`` through a temporary store swapped in atomically."""
    archive_check_restorable(archive)
    moved = store.replace_with(archive_with_version_row(archive), keep_old=keep_old)
    if moved:
        logger.warning("old store moved aside", extra={"session": store.session_name, "moved_to": moved})
    health = store.health()
    if not health.healthy:
        raise ArchiveError(f"The restored store is {health.status}: {health.reason}.")
    return health


def _restored(session: WhatsAppSession, store: LiveStore, archive: Archive, **more: Any) -> None:
    status = session.status
    if status in (WhatsAppSession.Status.NEW, WhatsAppSession.Status.PAIRING, WhatsAppSession.Status.LOGGED_OUT):
        status = WhatsAppSession.Status.PAIRED
    _session_record_store(session, store, jid=archive.device_jid, status=status, **more)


def _env_values() -> dict[str, str]:
    names = ("WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE")
    return {name: getattr(settings, name, "").strip() for name in names if getattr(settings, name, "").strip()}


def _restore_from_env(
    session: WhatsAppSession, store: LiveStore, *, keep_old: bool, failures: list[str]
) -> RestoreOutcome | None:
    values = _env_values()
    attempts: list[tuple[str, Callable[[], Archive]]] = []
    if "WA_SESSION_DATA" in values:
        attempts.append(
            ("env_session_data", lambda: env_value_decode(name="WA_SESSION_DATA", value=values["WA_SESSION_DATA"]))
        )
    if "WA_CREDENTIALS" in values:

        def credentials() -> Archive:
            archive = env_value_decode(name="WA_CREDENTIALS", value=values["WA_CREDENTIALS"])
            if "WA_AUTH_STATE" in values:
                try:
                    return archive_merge(archive, env_value_decode(name="WA_AUTH_STATE", value=values["WA_AUTH_STATE"]))
                except EnvValueError as exc:
                    failures.append(str(exc))
                    logger.warning("auth state not restored", extra={"session": session.name, "reason": str(exc)})
            return archive

        attempts.append(("env_credentials", credentials))
    for source, load in attempts:
        try:
            archive = load()
            health = store_restore_archive(store=store, archive=archive, keep_old=keep_old)
        except (EnvValueError, ArchiveError) as exc:
            failures.append(str(exc))
            logger.warning("env restore failed", extra={"session": session.name, "source": source, "reason": str(exc)})
            continue
        # The env vars hold these credentials: no config-var write (and dyno restart) for them.
        _restored(session, store, archive, credentials_fingerprint=credentials_fingerprint(archive))
        logger.info("session restored", extra={"session": session.name, "source": source, "jid": health.device_jid})
        backup_create(session_name=session.name, reason=SessionBackup.Reason.IMPORT)
        return RestoreOutcome(
            source, False, device_jid=health.device_jid, detail=f"restored from {source}", failures=failures
        )
    return None


def session_restore_chain(*, session_name: str, force: bool = False, backup_id: int | None = None) -> RestoreOutcome:
    """What ``runbot`` calls at start (DESIGN section 4 step 2).

    A healthy live store is kept unless ``force`` (which first takes a ``pre_restore`` backup).
    Otherwise: the newest backup that verifies (each failing one marked ``corrupt``), then
    ``WA_SESSION_DATA``, then ``WA_CREDENTIALS`` (+ ``WA_AUTH_STATE``), then "needs pairing".
    ``backup_id`` restores that backup only. A corrupt live store is moved aside, not deleted.
    """
    session = session_get_or_create(name=session_name)
    store = store_for(session_name)
    health = store.health()
    _session_record_store(session, store)
    log = {"session": session_name}
    if health.healthy and not force:
        detail = "the live store is healthy"
        if backup_id is not None:
            detail += "; nothing restored (use --force to overwrite it)"
        logger.info("live store kept", extra={**log, "jid": health.device_jid})
        return RestoreOutcome("live", False, device_jid=health.device_jid, detail=detail)
    if health.healthy:
        pre = backup_create(session_name=session_name, reason=SessionBackup.Reason.PRE_RESTORE)
        if pre is None or pre.state != SessionBackup.State.VERIFIED:
            reason = pre.state_reason if pre is not None else "another backup is running"
            return RestoreOutcome(
                "live",
                False,
                device_jid=health.device_jid,
                detail=f"nothing restored: the pre-restore backup failed ({reason})",
            )
    elif session.status == WhatsAppSession.Status.LOGGED_OUT and backup_id is None and not force:
        logger.warning("restore skipped", extra={**log, "reason": "the session was logged out"})
        return RestoreOutcome("none", True, detail="the session was logged out: pair it again")
    keep_old = health.status == CORRUPT
    if health.status == CORRUPT:
        logger.warning("live store corrupt", extra={**log, "reason": health.reason})
    failures: list[str] = []
    if backup_id is not None:
        candidates = list(backups_list(session_name=session_name).filter(pk=backup_id))
        if not candidates:
            return RestoreOutcome(
                "none", not health.healthy, detail=f"backup #{backup_id} of session {session_name} does not exist"
            )
    else:
        candidates = list(
            backups_list(session_name=session_name, states=(SessionBackup.State.VERIFIED,)).order_by(
                "-created_at", "-id"
            )
        )
    for backup in candidates:
        try:
            archive = backup_open(backup=backup)
            restored = store_restore_archive(store=store, archive=archive, keep_old=keep_old)
        except (ArchiveError, crypto.CryptoError) as exc:
            _backup_mark(backup, ok=False, detail=str(exc))
            failures.append(f"backup #{backup.pk}: {exc}")
            logger.warning("backup not restorable", extra={**log, "backup_id": backup.pk, "reason": str(exc)})
            continue
        _restored(session, store, archive)
        logger.info(
            "session restored", extra={**log, "source": "backup", "backup_id": backup.pk, "jid": restored.device_jid}
        )
        return RestoreOutcome(
            "backup",
            False,
            backup_id=backup.pk,
            device_jid=restored.device_jid,
            detail=f"restored backup #{backup.pk}",
            failures=failures,
        )
    if backup_id is not None:
        still = store.health()
        return RestoreOutcome(
            "none", not still.healthy, device_jid=still.device_jid, detail="; ".join(failures), failures=failures
        )
    outcome = _restore_from_env(session, store, keep_old=keep_old, failures=failures)
    if outcome is not None:
        return outcome
    detail = "no live store, verified backup or session env var" + (": " + "; ".join(failures) if failures else "")
    logger.warning("session needs pairing", extra={**log, "reason": detail})
    return RestoreOutcome("none", True, detail=detail, failures=failures)


# --------------------------------------------------------------------------- env vars


def session_archive_current(*, session_name: str) -> Archive:
    """The session as an archive: from the healthy live store, else its newest verified backup."""
    store = store_for(session_name)
    if store.health().healthy:
        return archive_from_store(store)
    for backup in backups_list(session_name=session_name, states=(SessionBackup.State.VERIFIED,)):
        try:
            return backup_open(backup=backup)
        except (ArchiveError, crypto.CryptoError):
            continue
    raise SessionStoreError(f"Session {session_name} has no paired live store and no verified backup to export.")


def session_export_env(*, session_name: str, credentials_only: bool = False) -> EnvExport:
    return env_export(archive=session_archive_current(session_name=session_name), credentials_only=credentials_only)


def session_import_env(*, session_name: str, values: Mapping[str, str], force: bool = False) -> RestoreOutcome:
    """Restore a session from exported env values. Every value is checked before anything is
    written; a healthy live store is only replaced with ``force`` (after a pre_restore backup)."""
    archive, source = env_archive(values)
    try:
        archive_check_restorable(archive)
    except ArchiveError as exc:
        raise EnvValueError(str(exc)) from None
    session = session_get_or_create(name=session_name)
    store = store_for(session_name)
    health = store.health()
    if health.healthy and not force:
        raise SessionStoreError(
            f"Session {session_name} already has a healthy live store ({health.device_jid}); use --force to replace it."
        )
    if health.healthy:
        pre = backup_create(session_name=session_name, reason=SessionBackup.Reason.PRE_RESTORE)
        if pre is None or pre.state != SessionBackup.State.VERIFIED:
            raise SessionStoreError("The pre-restore backup failed; nothing was imported.")
    restored = store_restore_archive(store=store, archive=archive, keep_old=health.status == CORRUPT)
    _restored(session, store, archive, credentials_fingerprint=credentials_fingerprint(archive))
    backup_create(session_name=session_name, reason=SessionBackup.Reason.IMPORT)
    logger.info("session imported", extra={"session": session_name, "source": source, "jid": restored.device_jid})
    return RestoreOutcome(source, False, device_jid=restored.device_jid, detail=f"imported from {source}")
