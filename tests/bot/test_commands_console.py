# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Commands through the real ``runbot --transport console`` in a subprocess: JSON lines in, JSON lines out.

The runtime dispatches on two threads, so the assertions do not depend on the order of the output.
"""

from __future__ import annotations

import json

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

ME = "15551234567"  # the console's default user
GROUP = "120363000000000077@g.us"
QUIET = "120363000000000078@g.us"


def run_console(runbot_env, tmp_path, lines: list[dict | str], **env: str) -> tuple[list[dict], str]:
    runbot_env.update({"TYPING_SECONDS": "0", "OUTBOUND_PER_MINUTE": "600", "OUTBOUND_CHAT_PER_MINUTE": "600", **env})
    bot = Runbot(["--transport", "console"], runbot_env, tmp_path)
    for line in lines:
        bot.process.stdin.write((line if isinstance(line, str) else json.dumps(line)) + "\n")
    bot.process.stdin.close()
    code, out = bot.wait(90)
    assert code == 0, bot.log
    return [json.loads(line) for line in out.splitlines()], bot.log


def texts_to(printed: list[dict], chat: str) -> list[str]:
    return [line["text"] for line in printed if line["kind"] == "text" and line["chat"] == chat]


def test_a_group_chat_in_the_terminal_kicks_warns_and_refuses(runbot_env, tmp_path):
    printed, log = run_console(
        runbot_env,
        tmp_path,
        [
            {"chat": GROUP, "sender": "15550002222", "text": "hi all", "group": {"name": "Book club", "admins": [ME]}},
            {"chat": GROUP, "sender": "15550003333", "text": "hello"},
            {"chat": GROUP, "text": ".kick", "mentions": ["15550002222"]},
            {"chat": GROUP, "sender": "15550003333", "text": ".tagall"},
            {"chat": GROUP, "text": ".warn @15550003333 spam", "mentions": ["15550003333"]},
            {"chat": QUIET, "text": ".mute", "group": {"name": "Quiet", "admins": [ME], "bot_admin": False}},
            ".flip",
        ],
    )
    removals = [line for line in printed if line["kind"] == "group"]
    assert [(line["chat"], line["action"], line["targets"]) for line in removals] == [
        (GROUP, "remove", ["15550002222@s.whatsapp.net"])
    ]
    group_texts = texts_to(printed, GROUP)
    assert "Removed @15550002222." in group_texts
    assert "Only group admins can use this command." in group_texts
    assert "@15550003333 warning 1/3. Reason: spam." in group_texts
    [quiet] = texts_to(printed, QUIET)
    assert quiet.startswith("I need to be a group admin")
    [flip] = texts_to(printed, f"{ME}@s.whatsapp.net")
    assert flip in {"🪙 Heads!", "🪙 Tails!"}
    assert "command failed" not in log


def test_owner_commands_in_the_terminal_persist_and_refuse_others(runbot_env, tmp_path, child_db):
    printed, _ = run_console(
        runbot_env,
        tmp_path,
        [
            ".ban 15550009999 flooding",
            {"sender": "15550008888", "text": ".setprefix !"},
            ".maintenance",
            ".help ban",
        ],
        OWNER_NUMBERS=ME,
    )
    mine = texts_to(printed, f"{ME}@s.whatsapp.net")
    assert "+15550009999 is banned: I'll ignore their commands." in mine
    assert any(t.startswith("Maintenance mode is off.") for t in mine)
    assert any(t.startswith("*.ban* - Make the bot ignore a user.") for t in mine)
    assert texts_to(printed, "15550008888@s.whatsapp.net") == ["Only the bot owner can use this command."]
    assert child_db.rows("SELECT phone, reason FROM bot_banneduser") == [("15550009999", "flooding")]
