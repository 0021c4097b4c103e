# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""A worker that comes back with an old store: runbot's start replaces it, logs it once and records an event.

The session's history is written by real commands in the worker's database (the runbot fixtures'
copy on SQLite); the old copy is put back the way the old machine's disk would still hold it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from sessions_store.services import store_restore_archive
from sessions_store.snapshot import archive_from_store
from tests.bot.fixtures.processes import MANAGE, Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

from .factories import make_paired_store, store_insert

pytestmark = pytest.mark.slow


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, MANAGE, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_runbot_replaces_a_store_that_missed_a_run_elsewhere(runbot_env, tmp_path, child_db, settings):
    runbot_env["WA_STORE_DIR"] = str(settings.WA_STORE_DIR)
    runbot_env["MAX_RECONNECT_ATTEMPTS"] = "1000"  # offline for the whole test: keep retrying
    store = make_paired_store("stale1")
    _manage(runbot_env, "restore_session", "--session", "stale1")  # machine A starts: generation 1
    _manage(runbot_env, "backup_session", "--session", "stale1")
    machine_a = archive_from_store(store)
    store.wipe()  # machine B: no store, the backup is restored (generation 2), it runs and backs up
    assert "restored backup" in _manage(runbot_env, "restore_session", "--session", "stale1")
    store_insert(store, {"whatsmeow_lid_map": [("44@lid", "44@s.whatsapp.net")]})
    _manage(runbot_env, "backup_session", "--session", "stale1")
    store_restore_archive(store=store, archive=machine_a, keep_old=False, generation=1)  # A is back

    bot = Runbot(["--transport", "neonize", "--no-scheduler", "--session", "stale1"], runbot_env, tmp_path)
    bot.wait_for(r"session restore .*source=backup")
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    [line] = [line for line in bot.log.splitlines() if "stale live store replaced" in line]
    assert "live_generation=1" in line and "backup_generation=2" in line and "moved_to=" in line
    [(detail,)] = child_db.rows(
        "SELECT detail FROM bot_connectionevent WHERE session_name = %s AND reason = %s",
        ("stale1", "stale_store_replaced"),
    )
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert (detail["live_generation"], detail["backup_generation"], detail["generation"]) == (1, 2, 3)
    assert {t.name: len(t.rows) for t in archive_from_store(store).tables}["whatsmeow_lid_map"] == 2
