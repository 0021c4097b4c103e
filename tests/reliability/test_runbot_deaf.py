# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""A connected child whose socket stops answering is restarted with reason=deaf, and after
DEAF_RESTARTS such restarts the next child alerts once and stays: real ``runbot`` processes."""

from __future__ import annotations

import signal

import pytest

from tests.bot.fixtures.processes import child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.reliability.runbot_cluster import cluster_env, has, start_bot
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.slow


def test_a_deaf_connection_is_restarted_then_alerted_once_not_looped(runbot_env, tmp_path, child_db, settings):
    session = "deaf"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    env.update(
        {
            "RUNBOT_FAKE_LIVENESS": "deaf",
            "LIVENESS_TIMEOUT": "5",
            "LIVENESS_FAILURES": "1",
            "DEAF_RESTARTS": "1",
            "RECONNECT_BASE_SECONDS": "0.5",
            "OWNER_NUMBERS": "15550001111",
        }
    )
    bot = start_bot(env, tmp_path, session)
    bot.wait_for(r"connected but deaf: liveness questions unanswered; restarting the child", timeout=60)
    bot.wait_for(r"restarting the bot child .*reason=deaf", timeout=30)
    bot.wait_for(r"the connection stayed deaf after the allowed restarts", timeout=30)
    bot.wait_for(r"still deaf after the allowed restarts; keeping the connection", timeout=60)
    # the second child stays: no third start, and it keeps asking
    bot.wait_for(r"fake neonize asked .*answering=False", timeout=30)
    assert len(bot.child_pids()) == 2, bot.log
    stopped = child_db.rows(
        "SELECT reason FROM bot_connectionevent WHERE session_name = %s AND to_state = 'stopped' ORDER BY id", (session,)
    )
    assert [r for (r,) in stopped] == ["deaf"], stopped
    notices = child_db.rows(
        "SELECT content FROM bot_outboxitem WHERE session_name = %s AND chat = %s ORDER BY id",
        (session, "15550001111@s.whatsapp.net"),
    )
    assert len(notices) == 2, notices  # one "it reconnected", one "restarting did not help"
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(40)
    assert code == 0, bot.log
    assert not has(bot, r"Traceback")
