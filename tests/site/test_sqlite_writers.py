"""SQLite shared by several writer processes (web, worker, bot child, django-q2): no `database is locked`.

IMMEDIATE transactions take the write lock when they begin, so the busy timeout applies (a
deferred read-then-write transaction gets SQLITE_BUSY at once, without waiting). Where a write
still fails, the stats flush says so in one warning line.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from bot.dispatch.stats import StatsCollector
from tests.bot.fixtures.processes import migrated_sqlite  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 3
FLUSHES = 150


@pytest.mark.django_db
def test_the_sqlite_connection_has_immediate_transactions_and_a_busy_timeout(settings) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite options apply to SQLite only")
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 5
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000


def test_writer_processes_flushing_stats_into_one_sqlite_file_never_fail(
    migrated_sqlite: Path,  # noqa: F811
    tmp_path: Path,
    subprocess_env: dict[str, str],
) -> None:
    db = tmp_path / "shared.sqlite3"
    db.write_bytes(migrated_sqlite.read_bytes())
    subprocess_env["DATABASE_URL"] = f"sqlite:///{db}"
    start = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.site.sqlite_stats_writer", str(start), str(FLUSHES)],
            env=subprocess_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(WRITERS)
    ]
    start.touch()
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]
    assert [writer.returncode for writer in writers] == [0] * WRITERS, outputs
    for output in outputs:
        assert "Traceback" not in output and "database is locked" not in output, output
        assert "failed_flushes=0" in output, output
    with sqlite3.connect(db) as conn:
        (total,) = conn.execute("SELECT SUM(messages_in) FROM bot_messagestat WHERE session_name = 'shared'").fetchone()
    assert total == WRITERS * FLUSHES  # every counted message is in the table, once


def test_a_failed_stats_flush_is_one_warning_line_and_keeps_the_counts(caplog, monkeypatch) -> None:
    from bot.dispatch import stats as stats_module

    def locked(*args, **kwargs):
        raise stats_module.transaction.TransactionManagementError("database is locked")

    collector = StatsCollector(session_name="locked")
    collector.incoming(3)
    monkeypatch.setattr(stats_module, "_upsert", locked)
    with caplog.at_level(logging.WARNING, logger="bot.dispatch.stats"):
        assert collector.flush() == 0
    [record] = [r for r in caplog.records if r.name == "bot.dispatch.stats"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert "database is locked" in record.error
    monkeypatch.undo()
    assert collector.totals.messages_in == 3 and collector._pending  # kept for the next flush
