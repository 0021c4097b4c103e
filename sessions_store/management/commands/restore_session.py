"""``manage.py restore_session [--session NAME] [--backup ID] [--force]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_store.services import SessionStoreError, session_restore_chain
from sessions_store.store import StoreError


class Command(BaseCommand):
    help = (
        "Restore a session's live store: kept when healthy (unless --force, which takes a pre_restore "
        "backup first), else the newest backup that verifies, else WA_SESSION_DATA / WA_CREDENTIALS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session", default="default")
        parser.add_argument("--backup", type=int, dest="backup_id", help="restore this backup id only")
        parser.add_argument("--force", action="store_true", help="replace a healthy live store")

    def handle(self, *args, session: str, backup_id: int | None, force: bool, **options) -> None:
        try:
            outcome = session_restore_chain(session_name=session, force=force, backup_id=backup_id)
        except (StoreError, SessionStoreError) as exc:
            raise CommandError(str(exc)) from None
        for failure in outcome.failures:
            self.stderr.write(f"skipped: {failure}")
        if outcome.leftovers_removed:
            self.stdout.write(f"{session}: removed leftovers: {', '.join(outcome.leftovers_removed)}.")
        if outcome.source == "busy":
            raise CommandError(f"{session}: {outcome.detail}.")
        if outcome.source == "live":
            self.stdout.write(f"{session}: live store kept ({outcome.device_jid}): {outcome.detail}.")
            if backup_id is not None or force:
                raise CommandError("Nothing was restored.")
            return
        if outcome.needs_pairing or outcome.source == "none":
            raise CommandError(f"{session}: nothing restored, the session needs pairing: {outcome.detail}.")
        self.stdout.write(f"{session}: {outcome.detail}; device {outcome.device_jid}.")
