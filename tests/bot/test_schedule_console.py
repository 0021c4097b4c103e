# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Schedules from the real bot child (``runbot --transport console``, which loads no django_q app): the
commands arm django-q2's schedule table and answer; a bad <when> stores nothing."""

from __future__ import annotations

import json

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

ME = "15551234567"  # the console's default user
GROUP = "120363000000000079@g.us"


def test_the_child_arms_schedules_in_django_q2s_table(runbot_env, tmp_path, child_db):
    runbot_env.update({"TYPING_SECONDS": "0", "OUTBOUND_PER_MINUTE": "600", "OUTBOUND_CHAT_PER_MINUTE": "600"})
    bot = Runbot(["--transport", "console"], runbot_env, tmp_path)
    lines = [
        {"chat": GROUP, "text": ".schedule in 10m tea time", "group": {"name": "Tea", "admins": [ME]}},
        {"chat": GROUP, "text": ".schedule at 25:61 nope"},
        {"chat": GROUP, "text": ".mute 30m"},
    ]
    for line in lines:
        bot.process.stdin.write(json.dumps(line) + "\n")
    bot.process.stdin.close()
    code, out = bot.wait(90)
    assert code == 0, bot.log
    texts = [json.loads(line).get("text", "") for line in out.splitlines()]
    assert any(t.startswith("Scheduled #") for t in texts), texts
    assert any("25:61 is not a time of day" in t for t in texts), texts
    assert any(t.startswith("Group muted for 30 min") for t in texts), texts
    rows = child_db.rows(
        "SELECT func, schedule_type, repeats, intended_date_kwarg FROM django_q_schedule WHERE name LIKE %s",
        ("bot.scheduled.%",),
    )
    assert rows == [("bot.tasks.scheduled_message_task", "O", -1, "due")] * 2
    assert child_db.rows("SELECT kind FROM bot_scheduledmessage ORDER BY id") == [("message",), ("unmute",)]
