"""``manage.py remove_session NAME [--force]``: remove a session and everything it owns; prints the counts.

Thin over :func:`bot.session_removal.session_remove_everything`. Run on a machine that reaches the
session's live store (with SQLite, the worker's; with PostgreSQL, any).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bot.session_removal import session_remove_everything
from sessions_store.services import SessionLeaseLive


class Command(BaseCommand):
    help = (
        "Remove a session (a console trial, or one you no longer use): its backups, lease, pairing codes, "
        "live store and the bot's status, events and stats rows. Refuses a session a worker holds unless --force."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The session's name.")
        parser.add_argument(
            "--force", action="store_true", help="Remove it even though a running worker holds its lease."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            removed = session_remove_everything(name=options["name"], force=options["force"])
        except SessionLeaseLive as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(removed.summary())
