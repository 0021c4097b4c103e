"""``manage.py export_session [--session NAME] [--env | --heroku] [--credentials-only]``.

Prints the session as config vars: ``WA_SESSION_DATA`` (the whole archive), ``WA_CREDENTIALS``
(the device identity) and ``WA_AUTH_STATE`` (app-state keys), with their sizes on stderr. Heroku's
config vars total at most 32 KB: over that it says so and exits 1 unless ``--credentials-only``.
"""

from __future__ import annotations

import shlex

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sessions_store.envvars import HEROKU_CONFIG_LIMIT
from sessions_store.services import SessionStoreError, session_export_env
from sessions_store.store import StoreError


class Command(BaseCommand):
    help = "Print the session as WA_SESSION_DATA / WA_CREDENTIALS / WA_AUTH_STATE config vars."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--session", default="default")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--env", action="store_true", help="NAME=value lines (the default)")
        mode.add_argument("--heroku", action="store_true", help="one `heroku config:set` line (no network call)")
        parser.add_argument(
            "--credentials-only", action="store_true", help="only WA_CREDENTIALS and WA_AUTH_STATE (fits 32 KB)"
        )

    def handle(self, *args, session: str, heroku: bool, credentials_only: bool, **options) -> None:
        try:
            export = session_export_env(session_name=session, credentials_only=credentials_only)
        except (StoreError, SessionStoreError) as exc:
            raise CommandError(str(exc)) from None
        for name, size in export.sizes.items():
            self.stderr.write(f"# {name}: {size:,} bytes")
        self.stderr.write(f"# total: {export.total:,} bytes of Heroku's {HEROKU_CONFIG_LIMIT:,}-byte config-var limit")
        if not export.fits:
            raise CommandError(
                f"The session takes {export.total:,} bytes, over Heroku's 32 KB config-var limit: add Heroku "
                "Postgres (the session then lives in the database) or rerun with --credentials-only."
            )
        if heroku:
            assignments = " ".join(shlex.quote(f"{name}={value}") for name, value in export.values.items())
            app = f" --app {shlex.quote(settings.HEROKU_APP_NAME)}" if settings.HEROKU_APP_NAME else ""
            self.stdout.write(f"heroku config:set{app} {assignments}")
            return
        for name, value in export.values.items():
            self.stdout.write(f"{name}={value}")
