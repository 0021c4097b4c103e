"""``manage.py verify_backups [--session NAME]``: re-open every backup; exit 1 when a session's
newest backup is corrupt (its next restore would fall back to an older one)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from sessions_store.services import backups_verify


class Command(BaseCommand):
    help = "Check every backup's checksum, decryption and manifest; print a table."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session", help="only this session's backups")

    def handle(self, *args, session: str | None, **options) -> None:
        results = backups_verify(session_name=session, wrap=lambda items: tqdm(items, desc="verify", unit="backup"))
        if not results:
            self.stdout.write("No backups to verify.")
            return
        self.stdout.write(f"{'id':>6}  {'session':<16} {'created (UTC)':<19}  {'reason':<11} {'state':<9} detail")
        newest: dict[str, bool] = {}
        for r in results:
            newest.setdefault(r.session_name, r.ok)  # results are newest first per session
            self.stdout.write(
                f"{r.backup_id:>6}  {r.session_name:<16} {r.created_at:%Y-%m-%d %H:%M:%S}  {r.reason:<11} "
                f"{r.state:<9} {r.detail}"
            )
        bad = sorted(name for name, ok in newest.items() if not ok)
        if bad:
            raise CommandError(f"The newest backup is corrupt for: {', '.join(bad)}.")
