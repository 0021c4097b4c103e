"""Another bot's SESSION_ID: one sentence at start naming what it is and how to pair, never the value."""

from __future__ import annotations

import base64
import json
import logging

import pytest

from bot.foreign_session import foreign_session_notice, foreign_session_warn

CREDS = base64.b64encode(json.dumps({"noiseKey": {"private": "c2VjcmV0"}, "me": {"id": "1@s"}}).encode()).decode()


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (CREDS, "a Baileys session (creds.json in base64)"),
        ("X-Asena~" + CREDS, "a Baileys session (creds.json in base64)"),
        ("levanter_3f9a8b7c6d5e4f", "another bot's session string"),
        ("Sparky~aBcD1234xYz", "another bot's session id (a 'name~...' string)"),
        ("~~~\x00\xff" * 3000, "another bot's session"),
    ],
)
def test_the_sentence_names_the_format_and_how_to_pair_but_never_the_value(value, kind):
    notice = foreign_session_notice({"SESSION_ID": value})
    assert notice is not None and notice.startswith(f"SESSION_ID holds {kind}")
    assert "cannot carry a whatsmeow session" in notice and "/pair/" in notice and "--pair-phone" in notice
    assert notice.count(". ") == 0 and notice.endswith(".")
    for part in (value[:12], value[-12:], "c2VjcmV0", "Sparky", "levanter_3f"):
        assert part not in notice


def test_unset_or_empty_says_nothing(caplog):
    with caplog.at_level(logging.WARNING):
        assert not foreign_session_warn({}) and not foreign_session_warn({"SESSION_ID": "  "})
    assert caplog.records == []


def test_runbot_says_it_once_at_start(subprocess_env, manage_py):
    import subprocess

    subprocess_env["SESSION_ID"] = "X-Asena~" + CREDS
    # a malformed --pair-phone stops right after the start-up notices, before the database or a child
    result = subprocess.run(
        [*manage_py, "runbot", "--pair-phone", "x"], env=subprocess_env, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert output.count("SESSION_ID holds a Baileys session") == 1, output
    assert CREDS[:16] not in output and "Traceback" not in output
