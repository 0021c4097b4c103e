"""``manage.py backup_session [--session NAME] [--reason manual]``: back a session's store up now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from tqdm import tqdm

from blacksky_site.tempfiles import is_disk_full
from sessions_store.models import SessionBackup
from sessions_store.selectors import session_names
from sessions_store.services import SessionStoreError, backup_create
from sessions_store.store import StoreError, store_for


class Command(BaseCommand):
    help = "Take an encrypted, verified backup of one session (or of every session)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session", help="session name (default: every known session)")
        parser.add_argument("--reason", default="manual", choices=SessionBackup.Reason.values)

    def handle(self, *args, session: str | None, reason: str, **options) -> None:
        failed = []
        names = session_names(name=session)
        for name in tqdm(names, desc="backup", unit="session", disable=len(names) < 2 or None):
            try:
                health = store_for(name).health()
                backup = backup_create(session_name=name, reason=reason)
            except (StoreError, SessionStoreError) as exc:
                raise CommandError(str(exc)) from None
            except (DatabaseError, OSError) as exc:
                if not is_disk_full(exc):
                    raise
                raise CommandError(
                    f"No space left to store the backup of {name!r}: {exc}; nothing was stored."
                ) from None
            if backup is None:
                why = (
                    f"the store is {health.status} ({health.reason})"
                    if not health.healthy
                    else "another backup of it is running, or it is unchanged"
                )
                self.stdout.write(f"{name}: not backed up: {why}.")
            elif backup.state == SessionBackup.State.VERIFIED:
                self.stdout.write(
                    f"{name}: backup #{backup.pk} verified, {backup.stored_size:,} bytes stored "
                    f"({backup.raw_size:,} raw), device {backup.device_jid}."
                )
            else:
                failed.append(name)
                self.stderr.write(f"{name}: backup #{backup.pk} failed: {backup.state_reason}")
        if failed:
            raise CommandError(f"Backup failed for: {', '.join(failed)}.")
