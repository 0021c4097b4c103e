"""Putting a session's store back, for the supervisor at start and ``restore_session``.

From a backup or from the WA_* env vars (``env_sessions.py`` imports them by command).

``session_restore_chain`` (called by ``runbot`` at start) removes leftovers, keeps a healthy live
store unless a newer generation's backup exists, else restores the newest backup that verifies,
else the ``WA_*`` env vars, else reports that pairing is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings

from sessions_store import crypto
from sessions_store.envvars import (
    EXPORTED_FROM,
    EnvValueError,
    credentials_fingerprint,
    env_value_decode,
)
from sessions_store.models import SessionBackup, SessionLock, WhatsAppSession
from sessions_store.selectors import backups_list
from sessions_store.snapshot import (
    Archive,
    ArchiveError,
    archive_check_restorable,
    archive_from_store,
    archive_merge,
    archive_with_version_row,
)
from sessions_store.store import ASIDE, CORRUPT, LiveStore, StoreHealth, store_for

from .backups import backup_create, backup_mark, backup_open
from .generations import FORCE, KEEP, REPLACE_STALE, session_generation_next, store_decision, store_generation_begin
from .leftovers import store_leftovers_remove
from .locks import SessionLockBusy, session_lock_acquire, session_lock_release
from .sessions import SessionStoreError, session_get_or_create, session_record_store

logger = logging.getLogger("sessions_store.services")


@dataclass(frozen=True)
class RestoreOutcome:
    source: str  # live | backup | env_session_data | env_credentials | none | busy
    needs_pairing: bool
    backup_id: int | None = None
    device_jid: str = ""
    detail: str = ""
    failures: list[str] = field(default_factory=list)
    generation: int = 0  # of the live store now (0: not recorded)
    # Set when an old live store was replaced by a newer backup: what the supervisor records as an event.
    stale_store: dict[str, Any] = field(default_factory=dict)
    leftovers_removed: list[str] = field(default_factory=list)


def store_restore_archive(*, store: LiveStore, archive: Archive, keep_old: bool, generation: int = 0) -> StoreHealth:
    """Write ``archive`` into ``store`` through a temporary store swapped in atomically.

    ``generation`` (when not 0) is recorded in the new store in the same swap.
    """
    archive_check_restorable(archive)
    moved = store.replace_with(archive_with_version_row(archive), keep_old=keep_old, generation=generation)
    if moved:
        logger.warning("old store moved aside", extra={"session": store.session_name, "moved_to": moved})
    health = store.health(pages=False)  # pages SQLite has just written itself (see ``replace_with``)
    if not health.healthy:
        raise ArchiveError(f"The restored store is {health.status}: {health.reason}.")
    return health


def restored_record(session: WhatsAppSession, store: LiveStore, archive: Archive, **more: Any) -> None:
    """What a restore writes on the session row: the store, the device and (from unpaired) ``paired``."""
    status = session.status
    if status in (WhatsAppSession.Status.NEW, WhatsAppSession.Status.PAIRING, WhatsAppSession.Status.LOGGED_OUT):
        status = WhatsAppSession.Status.PAIRED
    session_record_store(session, store, jid=archive.device_jid, status=status, **more)


def _env_values() -> dict[str, str]:
    names = ("WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE")
    return {name: getattr(settings, name, "").strip() for name in names if getattr(settings, name, "").strip()}


def _restore_from_env(
    session: WhatsAppSession, store: LiveStore, *, keep_old: bool, failures: list[str]
) -> RestoreOutcome | None:
    """WA_SESSION_DATA, else WA_CREDENTIALS (+ WA_AUTH_STATE); a value exported from another
    session is refused (one warning naming both sessions) and the next source is tried."""
    values = _env_values()
    owner = session.name
    attempts: list[tuple[str, Callable[[], Archive]]] = []
    if "WA_SESSION_DATA" in values:
        attempts.append(
            (
                "env_session_data",
                lambda: env_value_decode(name="WA_SESSION_DATA", value=values["WA_SESSION_DATA"], owner=owner),
            )
        )
    if "WA_CREDENTIALS" in values:

        def credentials() -> Archive:
            archive = env_value_decode(name="WA_CREDENTIALS", value=values["WA_CREDENTIALS"], owner=owner)
            if "WA_AUTH_STATE" in values:
                try:
                    auth = env_value_decode(name="WA_AUTH_STATE", value=values["WA_AUTH_STATE"], owner=owner)
                    merged = archive_merge(archive, auth)
                    merged.extra[EXPORTED_FROM] = archive.extra[EXPORTED_FROM]
                    return merged
                except EnvValueError as exc:
                    failures.append(str(exc))
                    logger.warning("auth state not restored", extra={"session": session.name, "reason": str(exc)})
            return archive

        attempts.append(("env_credentials", credentials))
    for source, load in attempts:
        try:
            archive = load()
            generation = session_generation_next(session=session)
            health = store_restore_archive(store=store, archive=archive, keep_old=keep_old, generation=generation)
        except (EnvValueError, ArchiveError) as exc:
            failures.append(str(exc))
            logger.warning("env restore failed", extra={"session": session.name, "source": source, "reason": str(exc)})
            continue
        warn_if_unbound(session.name, source, archive)
        # The env vars hold these credentials: no config-var write (and dyno restart) for them.
        restored_record(session, store, archive, credentials_fingerprint=credentials_fingerprint(archive))
        logger.info("session restored", extra={"session": session.name, "source": source, "jid": health.device_jid})
        backup_create(session_name=session.name, reason=SessionBackup.Reason.IMPORT)
        return RestoreOutcome(
            source,
            False,
            device_jid=health.device_jid,
            detail=f"restored from {source}",
            failures=failures,
            generation=generation,
        )
    return None


def warn_if_unbound(session_name: str, source: str, archive: Archive) -> None:
    """One warning for an env value exported before values were bound: taken on trust, so say so."""
    if archive.extra.get(EXPORTED_FROM) is None:
        logger.warning(
            "env value accepted unbound",
            extra={
                "session": session_name,
                "source": source,
                "reason": "exported before values named their session; export it again to bind it",
            },
        )


def _verified_newest_first(session_name: str, *, above: int | None = None):
    """Verified backups, the newest generation first (then the newest made); ``above``: only newer ones."""
    backups = backups_list(session_name=session_name, states=(SessionBackup.State.VERIFIED,))
    if above is not None:
        backups = backups.filter(store_generation__gt=above)
    return backups.order_by("-store_generation", "-created_at", "-id")


def session_restore_chain(*, session_name: str, force: bool = False, backup_id: int | None = None) -> RestoreOutcome:
    """What ``runbot`` calls at start (the restore chain of docs/architecture.md).

    Under the session's restore lock: orphaned temporary and old aside stores are removed first
    (``leftovers.py``). A healthy live store is kept (and given the next generation: a run starts)
    unless it is older than the newest verified backup (``generations.py``: it is moved aside and
    that backup restored) or ``force`` (which first takes a ``pre_restore`` backup). Otherwise: the
    newest backup that verifies (each failing one marked ``corrupt``), then ``WA_SESSION_DATA``,
    then ``WA_CREDENTIALS`` (+ ``WA_AUTH_STATE``), then "needs pairing". ``backup_id`` restores that
    backup only. A corrupt live store is moved aside, not deleted.
    """
    session = session_get_or_create(name=session_name)
    store = store_for(session_name)
    try:
        lock = session_lock_acquire(session=session, kind=SessionLock.Kind.RESTORE)
    except SessionLockBusy as exc:
        logger.warning("restore skipped", extra={"session": session_name, "reason": str(exc)})
        return RestoreOutcome("busy", False, detail=f"nothing restored: {exc}")
    try:
        removed = [item.name for item in store_leftovers_remove(store=store)]
        outcome = _chain(session, store, force=force, backup_id=backup_id)
    finally:
        session_lock_release(lock=lock)
    return replace(outcome, leftovers_removed=removed) if removed else outcome


def _chain(session: WhatsAppSession, store: LiveStore, *, force: bool, backup_id: int | None) -> RestoreOutcome:
    session_name = session.name
    health = store.health()
    session_record_store(session, store)
    log = {"session": session_name}
    live_generation = store.generation_read() if health.healthy else 0
    verified = list(_verified_newest_first(session_name))  # one listing for the decision and the restore
    newest = verified[0] if verified else None
    decision = store_decision(
        healthy=health.healthy,
        live_generation=live_generation,
        newest_backup_generation=newest.store_generation if newest else None,
        force=force,
    )
    if decision == KEEP or (decision == REPLACE_STALE and backup_id is not None):
        generation = store_generation_begin(session=session, store=store, why="run")
        detail = "the live store is healthy"
        if backup_id is not None:
            detail += "; nothing restored (use --force to overwrite it)"
        logger.info("live store kept", extra={**log, "jid": health.device_jid, "generation": generation})
        return RestoreOutcome("live", False, device_jid=health.device_jid, detail=detail, generation=generation)
    if decision == REPLACE_STALE:
        return _replace_stale(session, store, health, live_generation)
    if decision == FORCE:
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
        candidates = list(_verified_newest_first(session_name)) if decision == FORCE else verified
    restored = _restore_first(session, store, candidates, keep_old=keep_old, failures=failures)
    if restored is not None:
        return restored
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


def _restore_first(
    session: WhatsAppSession, store: LiveStore, candidates: list[SessionBackup], *, keep_old: bool, failures: list[str]
) -> RestoreOutcome | None:
    """Restore the first candidate that opens and verifies (each failing one marked ``corrupt``)."""
    log = {"session": session.name}
    for backup in candidates:
        try:
            archive = backup_open(backup=backup)
            generation = session_generation_next(session=session)
            restored = store_restore_archive(store=store, archive=archive, keep_old=keep_old, generation=generation)
        except (ArchiveError, crypto.CryptoError) as exc:
            backup_mark(backup, ok=False, detail=str(exc))
            failures.append(f"backup #{backup.pk}: {exc}")
            logger.warning("backup not restorable", extra={**log, "backup_id": backup.pk, "reason": str(exc)})
            continue
        restored_record(session, store, archive)
        logger.info(
            "session restored",
            extra={
                **log,
                "source": "backup",
                "backup_id": backup.pk,
                "backup_generation": backup.store_generation,
                "generation": generation,
                "jid": restored.device_jid,
            },
        )
        return RestoreOutcome(
            "backup",
            False,
            backup_id=backup.pk,
            device_jid=restored.device_jid,
            detail=f"restored backup #{backup.pk}",
            failures=failures,
            generation=generation,
        )
    return None


def _replace_stale(
    session: WhatsAppSession, store: LiveStore, health: StoreHealth, live_generation: int
) -> RestoreOutcome:
    """The live store is older than a verified backup: move it aside and restore the newest that verifies."""
    failures: list[str] = []
    candidates = list(_verified_newest_first(session.name, above=live_generation))
    outcome = _restore_first(session, store, candidates, keep_old=True, failures=failures)
    if outcome is None:
        # Every newer backup failed (and is marked corrupt now): the live store is the newest copy left.
        generation = store_generation_begin(session=session, store=store, why="run")
        logger.warning(
            "stale live store kept",
            extra={"session": session.name, "live_generation": live_generation, "reason": "; ".join(failures)},
        )
        return RestoreOutcome(
            "live",
            False,
            device_jid=health.device_jid,
            detail="the live store is older than a backup, but no newer backup restores",
            failures=failures,
            generation=generation,
        )
    stale = {
        "live_generation": live_generation,
        "backup_id": outcome.backup_id,
        "backup_generation": next(b.store_generation for b in candidates if b.pk == outcome.backup_id),
        "generation": outcome.generation,
        "moved_to": _newest_aside(store),
    }
    logger.warning("stale live store replaced", extra={"session": session.name, **stale})
    detail = (
        f"the live store (generation {live_generation}) was older than backup #{outcome.backup_id} "
        f"(generation {stale['backup_generation']}): moved aside, backup restored"
    )
    return replace(outcome, detail=detail, stale_store=stale)


def _newest_aside(store: LiveStore) -> str:
    asides = [i for i in store.leftovers() if i.kind == ASIDE]
    return max(asides, key=lambda i: (i.created, i.name)).name if asides else ""


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
