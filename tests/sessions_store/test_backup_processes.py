"""Backups and real processes: SIGKILL mid-write, and two backups of one session at once.

The child is ``tests/sessions_store/backup_child.py``. On a PostgreSQL run it shares this run's
test database; on a SQLite run a file copy of it (the test reads that with sqlite3).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .factories import make_paired_store

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "sessions_store" / "backup_child.py"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _start(env: dict[str, str], point: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), "kill-me", point],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _wait_line(proc: subprocess.Popen, prefix: str) -> str:
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"the child ended (rc={proc.wait(timeout=10)}) before printing {prefix!r}")


def _backup_states(env: dict[str, str]) -> list[str]:
    url = env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return [r[0] for r in conn.execute("SELECT state FROM sessions_store_sessionbackup")]
        finally:
            conn.close()
    from sessions_store.models import SessionBackup

    return list(SessionBackup.objects.values_list("state", flat=True))


@pytest.mark.parametrize("point", ["snapshot", "insert"])
def test_a_backup_killed_mid_write_leaves_no_verified_row(child_env, point):
    store = make_paired_store("kill-me")
    child = _start(child_env, point)
    try:
        assert _wait_line(child, "AT ") == f"AT {point}"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        child.kill()
    assert "verified" not in _backup_states(child_env)
    assert store.health().healthy  # the store the backup was reading is untouched


def test_two_backups_of_one_session_at_once_one_skips(child_env):
    make_paired_store("kill-me")
    first = _start(child_env, "snapshot")
    try:
        assert _wait_line(first, "AT ") == "AT snapshot"  # holds the session's backup lock
        second = _start(child_env, "none")
        second.stdin.close()
        assert _wait_line(second, "RESULT") == "RESULT none"
        assert second.wait(timeout=10) == 0
        first.stdin.close()  # let the first one finish
        assert _wait_line(first, "RESULT") == "RESULT verified"
        assert first.wait(timeout=10) == 0
    finally:
        first.kill()
    assert _backup_states(child_env) == ["verified"]
