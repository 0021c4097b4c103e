"""Fixtures of the sessions_store tests: a private store directory and no session env vars."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _isolated_sessions(settings, tmp_path: Path) -> None:
    settings.WA_STORE_DIR = tmp_path / "wa"
    settings.WA_SESSION_DATA = ""
    settings.WA_CREDENTIALS = ""
    settings.WA_AUTH_STATE = ""
    settings.HEROKU_API_KEY = ""
    settings.HEROKU_APP_NAME = ""
    settings.SESSION_ENCRYPTION_KEY = ""


@pytest.fixture
def is_postgres(settings) -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture
def child_env(subprocess_env, settings, tmp_path) -> dict[str, str]:
    """The environment of a process that shares this test's database and store directory."""
    env = dict(subprocess_env)
    env["WA_STORE_DIR"] = str(settings.WA_STORE_DIR)
    env["SECRET_KEY"] = settings.SECRET_KEY
    s = settings.DATABASES["default"]
    if s["ENGINE"].endswith("postgresql"):
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    else:
        # This run's (in-memory) test database, copied with SQLite's backup API: migrated, instantly.
        db = tmp_path / "backup.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(db)
        connection.connection.backup(target)
        target.close()
        env["DATABASE_URL"] = f"sqlite:///{db}"
    return env
