# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""``runbot`` as real processes: the console end to end, crashes, hangs, crash loops, signals."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

FIXTURES = "tests.bot.fixtures.transports"


def test_a_ping_on_the_console_prints_one_json_pong(runbot_env, tmp_path):
    bot = Runbot(["--transport", "console"], runbot_env, tmp_path)
    bot.process.stdin.write(".ping\n")
    bot.process.stdin.close()
    code, out = bot.wait(60)
    assert code == 0, bot.log
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 1
    assert lines[0]["kind"] == "text" and lines[0]["text"].startswith("pong")
    assert lines[0]["chat"] == "15551234567@s.whatsapp.net"
    assert "supervisor stopped" in bot.log and "neonize_loaded=False" in bot.log


def test_a_child_killed_with_sigkill_is_restarted(runbot_env, tmp_path, child_db):
    bot = Runbot(["--transport", "console", "--session", "killed"], runbot_env, tmp_path)
    bot.wait_for(r"connection state session=killed from=connecting to=connected")
    first = bot.child_pids()[0]
    os.kill(first, signal.SIGKILL)
    bot.wait_for(r"restarting the bot child .*reason=crash")
    bot.wait_for(r"bot child started", count=2)
    second = bot.child_pids()[1]
    assert second != first
    bot.wait_for(r"connection state session=killed from=\w+ to=connected", count=2)
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    [(restarts, beat_at, rss)] = child_db.rows(
        "SELECT child_restarts, last_heartbeat_at, rss_bytes FROM bot_botstatus WHERE session_name = %s", ("killed",)
    )
    assert restarts == 1 and beat_at is not None and rss > 10_000_000  # the supervisor wrote the child's beats
    reasons = child_db.rows("SELECT reason FROM bot_reconnectevent WHERE session_name = %s", ("killed",))
    assert reasons == [("child_crash",)]


def test_a_child_that_makes_no_progress_is_killed_and_restarted(runbot_env, tmp_path):
    runbot_env["HEARTBEAT_TIMEOUT"] = "1"
    bot = Runbot(["--transport", f"{FIXTURES}:HangTransport", "--session", "hung"], runbot_env, tmp_path)
    bot.wait_for(r"bot child hung; killing it .*stalled_for=", timeout=40)
    bot.wait_for(r"restarting the bot child .*reason=hung")
    bot.wait_for(r"bot child started", count=2)
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(40)
    assert code == 0, bot.log


def test_an_unscanned_qr_gets_a_fresh_child_without_spending_the_restart_budget(runbot_env, tmp_path):
    runbot_env["HEARTBEAT_TIMEOUT"] = "1"
    runbot_env["CHILD_RESTART_LIMIT"] = "1"
    bot = Runbot(["--transport", f"{FIXTURES}:UnscannedQrTransport", "--session", "qr"], runbot_env, tmp_path)
    bot.wait_for(r"bot child hung; killing it .*state=pairing", timeout=40)
    bot.wait_for(r"bot child restarted on purpose .*reason=qr_timeout", count=2, timeout=60)
    bot.wait_for(r"bot child started", count=3)
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(40)
    assert code == 0, bot.log
    assert "crash loop" not in bot.log and "restarting the bot child" not in bot.log


def test_a_frozen_child_whose_heartbeats_stop_is_killed_and_restarted(runbot_env, tmp_path):
    runbot_env["HEARTBEAT_TIMEOUT"] = "1"
    bot = Runbot(["--transport", "console", "--session", "frozen"], runbot_env, tmp_path)
    bot.wait_for(r"connection state session=frozen from=connecting to=connected")
    first = bot.child_pids()[0]
    os.kill(first, signal.SIGSTOP)  # no more beats; SIGTERM stays pending, only SIGKILL ends it
    bot.wait_for(r"bot child hung; killing it", timeout=30)
    bot.wait_for(r"bot child did not stop in time; SIGKILL")
    bot.wait_for(r"bot child started", count=2)
    assert bot.child_pids()[1] != first
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(40)
    assert code == 0, bot.log


def test_a_crash_loop_stops_at_the_restart_budget_with_a_clear_message(runbot_env, tmp_path, child_db):
    runbot_env["CHILD_RESTART_LIMIT"] = "2"
    bot = Runbot(["--transport", f"{FIXTURES}:CrashTransport", "--session", "loop"], runbot_env, tmp_path)
    code, _ = bot.wait(120)
    assert code == 1
    assert "crash loop: the bot child died 2 times" in bot.log
    assert len(bot.child_pids()) == 3
    outcomes = child_db.rows(
        "SELECT outcome FROM bot_reconnectevent WHERE session_name = %s AND reason = %s ORDER BY id",
        ("loop", "child_crash"),
    )
    assert [o[0] for o in outcomes] == ["failed"] * 2 + ["gave_up"]


def test_sigterm_drains_and_exits_zero_and_a_second_signal_shortens_the_wait(runbot_env, tmp_path):
    runbot_env["SHUTDOWN_GRACE"] = "25"
    bot = Runbot(["--transport", f"{FIXTURES}:StuckStopTransport", "--session", "stuck"], runbot_env, tmp_path)
    bot.wait_for(r"connection state session=stuck from=connecting to=connected")
    bot.process.send_signal(signal.SIGTERM)
    bot.wait_for(r"supervisor stopping")
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    # Wait for the kill before wait(): it closes stdin, and end of input would let the console
    # child finish by itself (that race made this test flaky).
    bot.wait_for(r"bot child did not stop in time; SIGKILL", timeout=10)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    assert time.monotonic() - started < 10  # the first signal alone would wait ~18 s for this child


def test_an_operator_restart_request_restarts_the_child_outside_the_budget(runbot_env, tmp_path, child_db):
    bot = Runbot(["--transport", "console", "--session", "ops"], runbot_env, tmp_path)
    bot.wait_for(r"connection state session=ops from=connecting to=connected")
    child_db.execute(
        "INSERT INTO bot_controlcommand (session_name, action, args, requested_at, state, result) "
        "VALUES (%s, %s, '{}', CURRENT_TIMESTAMP, 'pending', '')",
        ("ops", "restart"),
    )
    bot.wait_for(r"bot child restarted on purpose .*reason=restart_requested", timeout=30)
    bot.wait_for(r"bot child started", count=2)
    bot.wait_for(r"control action done")
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    assert child_db.rows("SELECT state, result FROM bot_controlcommand WHERE session_name = %s", ("ops",)) == [
        ("done", "child restarted (restart_requested)")
    ]
    assert "restarting the bot child" not in bot.log  # not a crash restart: no back-off, no budget


# -- the real neonize child, offline: it loads neonize, the supervisor never does ------------------------
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
