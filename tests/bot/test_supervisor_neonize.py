# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""``runbot --transport neonize`` for real, offline: the child loads neonize, the supervisor never does."""

from __future__ import annotations

import signal
import time

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow


def test_the_supervisor_never_loads_neonize_even_when_its_child_does(runbot_env, tmp_path, child_db):
    runbot_env["MAX_RECONNECT_ATTEMPTS"] = "2"
    bot = Runbot(
        ["--transport", "neonize", "--no-scheduler", "--run-once", "--session", "offline"], runbot_env, tmp_path
    )
    code, _ = bot.wait(90)
    assert code == 1, bot.log  # the child gave up (fresh child wanted); --run-once does not restart it
    assert "reconnect attempts exhausted" in bot.log
    assert "neonize_loaded=False" in bot.log
    attempts = child_db.rows(
        "SELECT attempt, delay_seconds, outcome FROM bot_reconnectevent WHERE session_name = %s ORDER BY attempt",
        ("offline",),
    )
    assert [a[0] for a in attempts] == [1, 2]
    assert all(a[2] == "failed" for a in attempts)


def test_sigterm_with_a_paired_store_exits_zero_in_time_and_leaves_a_shutdown_backup(
    runbot_env, tmp_path, child_db, settings
):
    from tests.sessions_store.factories import make_paired_store

    store = make_paired_store("paired1")
    runbot_env["WA_STORE_DIR"] = str(settings.WA_STORE_DIR)
    runbot_env["MAX_RECONNECT_ATTEMPTS"] = "1000"  # offline for the whole test: keep retrying, no fresh child
    bot = Runbot(["--transport", "neonize", "--no-scheduler", "--session", "paired1"], runbot_env, tmp_path)
    bot.wait_for(r"session restore .*source=live")
    bot.wait_for(r"connection state session=paired1 from=connecting to=reconnecting", timeout=60)
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    assert time.monotonic() - started < 25
    backups = child_db.rows(
        "SELECT b.reason, b.state FROM sessions_store_sessionbackup b "
        "JOIN sessions_store_whatsappsession s ON s.id = b.session_id WHERE s.name = %s",
        ("paired1",),
    )
    assert backups == [("shutdown", "verified")]
    assert store.health().healthy  # an outage never deletes or replaces the paired session
