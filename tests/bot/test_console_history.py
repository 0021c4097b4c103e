# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Deletes and edits typed in the console, and the message cache across a restart of the real
``runbot --transport console``: a message kept by one run is shown again when the next run sees it deleted."""

from __future__ import annotations

import json

import pytest

from bot.transport.base import MessageEdited, MessageRevoked
from bot.transport.console import ConsoleInputError, ConsoleTransport
from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

GROUP = "120363000000000001@g.us"
ADMIN = "15550000111@s.whatsapp.net"
MEMBER = "15550000222@s.whatsapp.net"
SECRET = "the treasure is under the third palm"


def test_a_revoke_line_names_the_message_and_defaults_to_its_author():
    console = ConsoleTransport()
    console.parse_line(json.dumps({"chat": GROUP, "sender": MEMBER, "text": "hi", "id": "M1", "group": {}}))
    event = console.parse_line(json.dumps({"revoke": "M1", "chat": GROUP}))
    assert isinstance(event, MessageRevoked)
    assert (event.target_id, event.sender, event.target_sender, event.is_group) == ("M1", MEMBER, MEMBER, True)
    by_admin = console.parse_line(json.dumps({"revoke": "M1", "chat": GROUP, "sender": ADMIN}))
    assert (by_admin.sender, by_admin.target_sender) == (ADMIN, MEMBER) and by_admin.id != event.id


def test_an_edit_line_carries_the_new_text():
    event = ConsoleTransport().parse_line(json.dumps({"edit": "M1", "text": "fixed", "sender": "15550000222"}))
    assert isinstance(event, MessageEdited)
    assert (event.target_id, event.text, event.chat, event.sender) == ("M1", "fixed", MEMBER, MEMBER)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ({"revoke": ""}, "take the id"),
        ({"revoke": ["M1"]}, "take the id"),
        ({"revoke": "M1", "edit": "M1"}, "not both"),
        ({"edit": "M1"}, "needs the new 'text'"),
        ({"revoke": "M1", "mentions": []}, "unknown field(s) for a revoke or edit: mentions"),
        ({"revoke": "x" * 200}, "take the id"),
    ],
)
def test_a_bad_revoke_or_edit_line_is_one_clear_error(line, error):
    with pytest.raises(ConsoleInputError, match=error.replace("(", r"\(").replace(")", r"\)")):
        ConsoleTransport().parse_line(json.dumps(line))


@pytest.mark.slow
def test_a_message_kept_before_a_restart_is_shown_when_deleted_after_it(runbot_env, child_db, tmp_path):
    runbot_env.update({"TYPING_SECONDS": "0", "OUTBOUND_PER_MINUTE": "6000", "OUTBOUND_CHAT_PER_MINUTE": "6000"})
    group = {"admins": [ADMIN]}
    first = Runbot(["--transport", "console"], runbot_env, tmp_path)
    for line in (
        {"chat": GROUP, "sender": ADMIN, "text": ".antidelete on", "group": group},
        {"chat": GROUP, "sender": MEMBER, "text": SECRET, "id": "KEEP1", "group": {}},
    ):
        first.process.stdin.write(json.dumps(line) + "\n")
    first.process.stdin.close()
    code, out = first.wait(90)
    assert code == 0, first.log
    assert "Anti-delete on" in out
    stored = child_db.rows("SELECT content FROM bot_cachedmessage WHERE message_id = %s", ("KEEP1",))
    assert len(stored) == 1 and SECRET.encode() not in bytes(stored[0][0])  # at rest: ciphertext only

    second = Runbot(["--transport", "console"], runbot_env, tmp_path)
    second.process.stdin.write(json.dumps({"revoke": "KEEP1", "chat": GROUP, "sender": MEMBER, "group": {}}) + "\n")
    second.process.stdin.close()
    code, out = second.wait(90)
    assert code == 0, second.log
    [repost] = [json.loads(line) for line in out.splitlines() if "Deleted message" in line]
    assert repost["chat"] == GROUP and repost["text"].endswith("\n" + SECRET)
    assert "@15550000222" in repost["text"] and repost["mentions"] == [MEMBER]
    assert child_db.rows("SELECT COUNT(*) FROM bot_cachedmessage WHERE message_id = %s", ("KEEP1",)) == [(0,)]
