# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Moderation in the console's simulated group, through the real ``runbot --transport console``: the
admin turns rules on, members break them; the removal and the deletes are printed, the log rows
written, the admin's own link left alone, and a group where the bot is not admin told once."""

from __future__ import annotations

import json

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

ME = "15551234567"  # the console's default user: the groups' admin here
GROUP = "120363000000000081@g.us"
QUIET = "120363000000000082@g.us"


def test_rules_in_the_console_group_act_log_and_spare_the_admin(runbot_env, tmp_path, child_db):
    runbot_env.update({"TYPING_SECONDS": "0", "OUTBOUND_PER_MINUTE": "600", "OUTBOUND_CHAT_PER_MINUTE": "600"})
    bot = Runbot(["--transport", "console"], runbot_env, tmp_path)

    def say(*lines: dict) -> None:
        for line in lines:
            bot.process.stdin.write(json.dumps(line) + "\n")
        bot.process.stdin.flush()

    say(
        {"chat": GROUP, "text": ".antilink on kick", "group": {"name": "Book club", "admins": [ME]}},
        {"chat": GROUP, "text": ".antibadword on warn idiot"},  # a word too many: the usage, nothing stored
        {"chat": GROUP, "text": ".antibadword on warn"},
        {"chat": GROUP, "text": ".antibadword add idiot"},
        {"chat": QUIET, "text": ".antilink on", "group": {"name": "Quiet", "admins": [ME], "bot_admin": False}},
    )
    bot.wait_for(r"command=antilink", count=2, timeout=60)
    bot.wait_for(r"command=antibadword", count=3, timeout=30)
    say(
        {"chat": GROUP, "sender": "15550002222", "text": "free stuff https://spam.example.com"},
        {"chat": GROUP, "sender": "15550003333", "text": "you are an IDIÖT"},
        {"chat": GROUP, "text": "my own https://example.com, idiot"},
        {"chat": QUIET, "sender": "15550004444", "text": "https://x.example.com"},
        {"chat": QUIET, "sender": "15550005555", "text": "https://y.example.com"},
    )
    bot.process.stdin.close()
    code, out = bot.wait(90)
    assert code == 0, bot.log
    printed = [json.loads(line) for line in out.splitlines()]
    acts = sorted(
        (p["chat"], p["kind"], p.get("action", ""), tuple(p.get("targets", [])), p.get("target", ""))
        for p in printed
        if p["kind"] in {"delete", "group"}
    )
    assert acts == [
        (GROUP, "delete", "", (), "15550002222@s.whatsapp.net"),
        (GROUP, "delete", "", (), "15550003333@s.whatsapp.net"),
        (GROUP, "group", "remove", ("15550002222@s.whatsapp.net",), ""),
    ]
    texts = [p["text"] for p in printed if p["kind"] == "text"]
    assert "@15550002222 was removed: sent a link (antilink is on)." in texts
    assert "@15550003333 warning 1/3. Reason: used a banned word (antibadword is on)." in texts
    quiet = [p["text"] for p in printed if p["kind"] == "text" and p["chat"] == QUIET]
    assert quiet[-1] == "I can't enforce antilink here: I need to be a group admin. Make me one and I will."
    assert sum("I can't enforce" in t for t in quiet) == 1
    rows = child_db.rows("SELECT chat, member, rule, action FROM bot_moderationlog ORDER BY member")
    assert rows == [(GROUP, "15550002222", "antilink", "kick"), (GROUP, "15550003333", "antibadword", "warn")]
    assert child_db.rows("SELECT block FROM bot_moderationrule WHERE rule = 'antibadword'") in (
        [('["idiot"]',)],
        [(["idiot"],)],
    )
