"""The console transport: DESIGN section 6's JSON-lines contract, in and out."""

from __future__ import annotations

import hashlib
import io
import json
import logging

import pytest

from bot.transport.base import Media, Reply, TransportError
from bot.transport.console import BOT_JID, DEFAULT_USER, ConsoleInputError, ConsoleTransport

GROUP = "120363000000000042@g.us"


def console(lines: str = "") -> tuple[ConsoleTransport, io.StringIO]:
    out = io.StringIO()
    return ConsoleTransport(stdin=io.StringIO(lines), stdout=out), out


def printed(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_plain_text_comes_from_the_default_user_in_a_private_chat():
    transport, _ = console()
    m = transport.parse_line(".ping\n")
    assert (m.chat, m.sender, m.text, m.is_group, m.from_me) == (DEFAULT_USER, DEFAULT_USER, ".ping", False, False)
    assert m.id.startswith("CONSOLE")


def test_a_json_line_sets_every_field_of_the_message():
    transport, _ = console()
    first = transport.parse_line(json.dumps({"sender": "15550002222", "text": "hello", "chat": GROUP, "group": {}}))
    m = transport.parse_line(
        json.dumps(
            {
                "chat": GROUP,
                "sender": "+1 555 000 3333",
                "text": ".kick @15550002222",
                "mentions": ["15550002222"],
                "quoted_id": first.id,
                "push_name": "Bob",
                "from_me": False,
            }
        )
    )
    assert m.chat == GROUP and m.is_group
    assert m.sender == "15550003333@s.whatsapp.net" and m.push_name == "Bob"
    assert m.mentions == ("15550002222@s.whatsapp.net",)
    assert (m.quoted_id, m.quoted_sender) == (first.id, "15550002222@s.whatsapp.net")


def test_the_simulated_group_defaults_to_no_admin_member_and_an_admin_bot():
    transport, _ = console()
    transport.parse_line(json.dumps({"chat": GROUP, "text": "hi", "group": {"name": "Book club"}}))
    info = transport.group_info(GROUP)
    assert info.name == "Book club"
    assert info.is_admin(BOT_JID)
    assert not info.is_admin(DEFAULT_USER)
    assert {p.jid for p in info.participants} == {BOT_JID, DEFAULT_USER}


def test_the_group_spec_names_admins_and_can_demote_the_bot():
    transport, _ = console()
    spec = {"name": "Mods", "admins": ["15551234567"], "bot_admin": False}
    transport.parse_line(json.dumps({"chat": GROUP, "text": "hi", "group": spec}))
    info = transport.group_info(GROUP)
    assert info.is_admin(DEFAULT_USER) and not info.is_admin(BOT_JID)


def test_group_actions_print_a_group_line_and_change_the_simulated_group():
    transport, out = console()
    transport.parse_line(json.dumps({"chat": GROUP, "sender": "15550002222", "text": "hi", "group": {}}))
    transport.send(Reply(kind="group", chat=GROUP, action="promote", targets=("15550002222@s.whatsapp.net",)))
    transport.send(Reply(kind="group", chat=GROUP, action="remove", targets=("15550002222@s.whatsapp.net",)))
    lines = printed(out)
    assert [(line["kind"], line["action"], line["targets"]) for line in lines] == [
        ("group", "promote", ["15550002222@s.whatsapp.net"]),
        ("group", "remove", ["15550002222@s.whatsapp.net"]),
    ]
    assert "15550002222@s.whatsapp.net" not in {p.jid for p in transport.group_info(GROUP).participants}


def test_media_lines_carry_size_checksum_and_playback():
    transport, out = console()
    data = b"\x00\x00\x00\x18ftypmp42fake"
    media = Media(data=data, mimetype="video/mp4", gif_playback=True, asset="hug")
    transport.send(
        Reply(
            kind="video",
            chat=DEFAULT_USER,
            text="*hugs* @15550002222",
            mentions=("15550002222@s.whatsapp.net",),
            asset="hug",
            media=media,
            reply_to="CONSOLE000001",
        )
    )
    [line] = printed(out)
    assert line == {
        "chat": DEFAULT_USER,
        "kind": "video",
        "caption": "*hugs* @15550002222",
        "mentions": ["15550002222@s.whatsapp.net"],
        "reply_to": "CONSOLE000001",
        "gif_playback": True,
        "mimetype": "video/mp4",
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "asset": "hug",
    }


def test_text_and_reaction_lines():
    transport, out = console()
    transport.send(Reply(kind="text", chat=DEFAULT_USER, text="pong", reply_to="X1"))
    transport.send(Reply(kind="reaction", chat=DEFAULT_USER, emoji="👍", reply_to="X1", target=DEFAULT_USER))
    text, reaction = printed(out)
    assert text == {"chat": DEFAULT_USER, "kind": "text", "text": "pong", "mentions": [], "reply_to": "X1"}
    assert (reaction["kind"], reaction["text"], reaction["reply_to"]) == ("reaction", "👍", "X1")


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "not valid JSON"),
        ('{"text": 5}', "'text' must be a string"),
        ('{"text": "x", "colour": "red"}', "unknown field(s): colour"),
        ('{"text": "x", "mentions": "15550002222"}', "'mentions' must be a list"),
        ('{"text": "x", "sender": "bob"}', "neither a JID nor a phone number"),
    ],
)
def test_bad_lines_get_a_clear_error(line, error):
    transport, _ = console()
    with pytest.raises(ConsoleInputError, match=error.replace("(", r"\(").replace(")", r"\)")):
        transport.parse_line(line)


def test_connect_delivers_every_good_line_skips_bad_ones_and_finishes_at_end_of_input(caplog):
    transport, _ = console('.ping\n{"oops\n\n{"text": ".menu", "sender": "15550002222"}\n')
    seen, signals = [], []
    transport.set_handlers(on_message=seen.append, on_signal=signals.append)
    with caplog.at_level(logging.WARNING, logger="bot.transport.console"):
        transport.connect()
    assert transport.finished
    assert [m.text for m in seen] == [".ping", ".menu"]
    assert signals[0].kind == "connected"
    assert "console line skipped" in caplog.text and transport.bad_lines == 1


def test_a_closed_stdout_is_a_transport_error():
    transport, out = console()
    out.close()
    with pytest.raises(TransportError):
        transport.send(Reply(kind="text", chat=DEFAULT_USER, text="x"))


def test_the_simulated_group_has_an_invite_link_that_a_revoke_replaces():
    transport = ConsoleTransport(stdin=io.StringIO(""), stdout=io.StringIO())
    chat = "120363000000000001@g.us"
    first = transport.send(Reply(kind="group", chat=chat, action="invite_link")).detail["link"]
    same = transport.send(Reply(kind="group", chat=chat, action="invite_link")).detail["link"]
    new = transport.send(Reply(kind="group", chat=chat, action="revoke_link")).detail["link"]
    assert first == same and first.startswith("https://chat.whatsapp.com/")
    assert new != first
