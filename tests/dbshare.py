"""The test run's database, handed to subprocesses (runbot, lease holders, backup killers)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from django.db import connection


def postgres_test_url() -> str:
    """A DATABASE_URL for the PostgreSQL test database this run uses (committed data is visible)."""
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def shared_database_url(tmp_path: Path, filename: str) -> str:
    """PostgreSQL: the test database itself. SQLite (in memory for pytest): a file copy of it,
    made with the online backup API, under ``tmp_path``."""
    if connection.vendor == "postgresql":
        return postgres_test_url()
    db = tmp_path / filename
    connection.ensure_connection()
    target = sqlite3.connect(db)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    return f"sqlite:///{db}"
