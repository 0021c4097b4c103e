"""The writes of the sessions_store app, in one place for their callers in every process.

A restart of an ephemeral host must never cost a new QR scan. The work lives in small modules:
``sessions`` (status of a session), ``backups`` (made, verified before visible, rotated),
``restore`` (the chain ``runbot`` runs at start), ``env_sessions`` (env-var export and import,
bound to the session), ``credentials`` (the
Heroku config-var write after a pairing) and ``pairing`` (what a successful pairing writes).
Callers import from here; ``sessions_store.tasks`` wraps some of them for django-q2.
"""

from __future__ import annotations

from .backups import (
    FAILED_RETENTION,
    BackupDiskFull,
    VerifyResult,
    backup_create,
    backup_open,
    backups_rotate,
    backups_verify,
)
from .credentials import CREDENTIALS_RESYNC_MIN_INTERVAL, session_credentials_sync
from .env_sessions import session_export_env, session_import_env
from .locks import (
    HeldLock,
    SessionLockBusy,
    session_lock,
    session_lock_acquire,
    session_lock_busy,
    session_lock_release,
)
from .pairing import session_pairing_succeeded
from .removal import SessionLeaseLive, SessionRemoval, session_mark_trial, session_remove
from .restore import (
    RestoreOutcome,
    session_archive_current,
    session_restore_chain,
    store_restore_archive,
)
from .sessions import (
    SessionStoreError,
    session_get_or_create,
    session_mark_connected,
    session_mark_paired,
    session_mark_status,
    session_name_check,
    session_name_clash,
)

__all__ = [
    "CREDENTIALS_RESYNC_MIN_INTERVAL",
    "FAILED_RETENTION",
    "BackupDiskFull",
    "HeldLock",
    "RestoreOutcome",
    "SessionLockBusy",
    "SessionLeaseLive",
    "SessionRemoval",
    "SessionStoreError",
    "VerifyResult",
    "backup_create",
    "backup_open",
    "backups_rotate",
    "backups_verify",
    "session_archive_current",
    "session_credentials_sync",
    "session_export_env",
    "session_get_or_create",
    "session_name_check",
    "session_name_clash",
    "session_import_env",
    "session_lock",
    "session_lock_acquire",
    "session_lock_busy",
    "session_lock_release",
    "session_mark_connected",
    "session_mark_paired",
    "session_mark_status",
    "session_mark_trial",
    "session_pairing_succeeded",
    "session_remove",
    "session_restore_chain",
    "store_restore_archive",
]
