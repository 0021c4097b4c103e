"""The session as config vars: ``export_session`` and ``import_session`` (and the admin's export).

Exports are bound to the session they come from (``envvars.py``); an import into a session of
another name is refused, naming both, unless the operator says so (``import_session --as NAME``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from sessions_store.envvars import (
    EXPORTED_FROM,
    EnvExport,
    EnvValueError,
    credentials_fingerprint,
    env_archive,
    env_export,
)
from sessions_store.models import SessionBackup, SessionLock
from sessions_store.snapshot import ArchiveError, archive_check_restorable
from sessions_store.store import CORRUPT, store_for

from .backups import backup_create
from .generations import session_generation_next
from .locks import session_lock
from .restore import RestoreOutcome, restored_record, session_archive_current, store_restore_archive, warn_if_unbound
from .sessions import SessionStoreError, session_get_or_create

logger = logging.getLogger("sessions_store.services")


def session_export_env(*, session_name: str, credentials_only: bool = False) -> EnvExport:
    """The session as config vars, bound to its name."""
    return env_export(
        archive=session_archive_current(session_name=session_name),
        session_name=session_name,
        credentials_only=credentials_only,
    )


def session_import_env(
    *, session_name: str, values: Mapping[str, str], force: bool = False, foreign: bool = False
) -> RestoreOutcome:
    """Restore a session from exported env values. Every value is checked before anything is
    written; a healthy live store is only replaced with ``force`` (after a pre_restore backup).
    Values exported from another session are refused (``ForeignEnvValueError``, naming both)
    unless ``foreign`` (``import_session --as NAME``) says the operator means it."""
    archive, source = env_archive(values, owner=None if foreign else session_name)
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
    with session_lock(session=session, kind=SessionLock.Kind.RESTORE):
        if health.healthy:
            pre = backup_create(session_name=session_name, reason=SessionBackup.Reason.PRE_RESTORE)
            if pre is None or pre.state != SessionBackup.State.VERIFIED:
                raise SessionStoreError("The pre-restore backup failed; nothing was imported.")
        generation = session_generation_next(session=session)
        restored = store_restore_archive(
            store=store, archive=archive, keep_old=health.status == CORRUPT, generation=generation
        )
    warn_if_unbound(session_name, source, archive)
    restored_record(session, store, archive, credentials_fingerprint=credentials_fingerprint(archive))
    backup_create(session_name=session_name, reason=SessionBackup.Reason.IMPORT)
    exported_from = archive.extra.get(EXPORTED_FROM)
    logger.info(
        "session imported",
        extra={
            "session": session_name,
            "source": source,
            "jid": restored.device_jid,
            "exported_from": exported_from or "unknown (unbound)",
        },
    )
    detail = f"imported from {source}"
    if exported_from and exported_from != session_name:
        detail += f" (exported from session {exported_from!r})"
    return RestoreOutcome(source, False, device_jid=restored.device_jid, detail=detail, generation=generation)
