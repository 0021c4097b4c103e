"""``manage.py import_session [--session NAME | --as NAME] [--stdin] [--force]``: restore a session
from the values ``export_session`` printed, taken from the environment or (``--stdin``) from
standard input. Every value is checked first: a malformed, truncated, tampered or wrongly keyed
one gets one sentence, and nothing is written. Values are bound to the session they were exported
from: ``--session NAME`` refuses another session's export (naming both); ``--as NAME`` imports it
into ``NAME`` on purpose."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_store.envvars import EnvValueError, env_values_from, parse_env_lines
from sessions_store.services import SessionStoreError, session_import_env
from sessions_store.snapshot import ArchiveError
from sessions_store.store import StoreError


class Command(BaseCommand):
    help = "Restore a session from WA_SESSION_DATA or WA_CREDENTIALS (+ WA_AUTH_STATE)."

    def add_arguments(self, parser: CommandParser) -> None:
        target = parser.add_mutually_exclusive_group()
        target.add_argument(
            "--session", default="default", help="the session to import into: the one the values were exported from"
        )
        target.add_argument(
            "--as",
            dest="as_name",
            metavar="NAME",
            help="import into session NAME even if the values were exported from another session",
        )
        parser.add_argument("--stdin", action="store_true", help="read NAME=value lines from standard input")
        parser.add_argument("--force", action="store_true", help="replace a healthy live store")

    def handle(self, *args, session: str, as_name: str | None, stdin: bool, force: bool, **options) -> None:
        values = env_values_from(parse_env_lines(sys.stdin.read()) if stdin else os.environ)
        target = as_name or session
        try:
            outcome = session_import_env(session_name=target, values=values, force=force, foreign=bool(as_name))
        except (EnvValueError, SessionStoreError, StoreError, ArchiveError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{target}: {outcome.detail}; device {outcome.device_jid}.")
