# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Hostile lines through the real ``runbot --transport console``: a deeply nested JSON line and an
endless one are one stderr line each, and every ping after them is answered (the reader goes on and
no second reader takes lines away from it)."""

from __future__ import annotations

import json

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

SENDERS = [f"155500{n:05d}" for n in range(20)]  # one user each: no per-user cooldown in the way


def test_a_nested_and_an_endless_line_then_twenty_pings_all_answered(runbot_env, tmp_path):
    runbot_env.update({"TYPING_SECONDS": "0", "OUTBOUND_PER_MINUTE": "6000", "OUTBOUND_CHAT_PER_MINUTE": "6000"})
    bot = Runbot(["--transport", "console"], runbot_env, tmp_path)
    bot.process.stdin.write('{"text": ' + "[" * 200_000 + "]" * 200_000 + "}\n")  # RecursionError in json
    bot.process.stdin.write("z" * 2_000_000 + "\n")
    for sender in SENDERS:
        bot.process.stdin.write(json.dumps({"chat": sender, "sender": sender, "text": ".ping"}) + "\n")
    bot.process.stdin.close()
    code, out = bot.wait(120)
    assert code == 0, bot.log
    printed = [json.loads(line) for line in out.splitlines()]
    answered = {line["chat"].split("@")[0] for line in printed if line["kind"] == "text" and "ong" in line["text"]}
    assert answered == set(SENDERS), bot.log
    assert bot.log.count("console line skipped") == 2, bot.log
    assert "Traceback" not in bot.log and "RecursionError" not in bot.log
