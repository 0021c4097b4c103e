# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""``runbot --transport neonize`` for real, offline: the child loads neonize, the supervisor never does."""

from __future__ import annotations

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
