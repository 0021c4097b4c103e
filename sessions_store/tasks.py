"""django-q2 entry points of the sessions_store app (thin wrappers over the services)."""

from __future__ import annotations

import logging

from .models import SessionBackup
from .selectors import sessions_list
from .services import backup_create, backups_rotate, backups_verify
from .store import SqliteStore, store_for, this_host

logger = logging.getLogger(__name__)


def backup_scheduled_task() -> dict[str, list[str]]:
    """Back up every session whose store this machine holds (every SESSION_BACKUP_INTERVAL minutes).

    A SQLite store lives on one machine's disk: a worker elsewhere (another dyno running the
    queue) skips it with a logged reason instead of reporting a missing store.
    """
    summary: dict[str, list[str]] = {"verified": [], "failed": [], "skipped": []}
    for session in sessions_list():
        store = store_for(session.name)
        if isinstance(store, SqliteStore):
            host = this_host()
            elsewhere = session.store_host and session.store_host != host
            if elsewhere or not store.is_local():
                where = session.store_host or "another machine"
                logger.info(
                    "backup skipped",
                    extra={"session": session.name, "reason": f"the SQLite store is on {where}, not on {host}"},
                )
                summary["skipped"].append(session.name)
                continue
        backup = backup_create(session_name=session.name, reason=SessionBackup.Reason.SCHEDULED)
        if backup is None:
            summary["skipped"].append(session.name)
        else:
            summary[backup.state if backup.state in summary else "failed"].append(session.name)
    return summary


def verify_daily_task() -> dict[str, int]:
    """Re-open every backup (checksum, decryption, manifest), then rotate."""
    results = backups_verify()
    removed = backups_rotate()
    summary = {"ok": sum(r.ok for r in results), "corrupt": sum(not r.ok for r in results), "removed": removed}
    logger.info("backups verified", extra=summary)
    return summary
