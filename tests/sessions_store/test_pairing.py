"""Pairing codes: the newest code per session, short-lived, drawn as a real QR for terminal and page."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
import segno

from sessions_store.models import PairingCode
from sessions_store.pairing import (
    pairing_code_clear,
    pairing_code_current,
    pairing_code_store,
    pairing_qr_svg,
    pairing_qr_terminal,
)

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
QR = "2@Vx3k9bq8yqJ0h5m2Qm1oH7w0b0dC5r1K,Kx7f0m1Qb3x9y8W2v6c5D0e1F2g3H4i5,J8k7L6m5N4o3P2q1R0s9T8u7V6w5X4y3,ZmFrZS1hZHYtc2VjcmV0"

pytestmark = pytest.mark.django_db


def test_it_stores_a_qr_and_returns_it_while_it_lives() -> None:
    stored = pairing_code_store(session_name="default", kind="qr", code=QR, ttl_seconds=60, now=T0)

    current = pairing_code_current(session_name="default", now=T0 + timedelta(seconds=59))

    assert current == stored
    assert (current.kind, current.code, current.expires_at) == ("qr", QR, T0 + timedelta(seconds=60))
    assert current.session.name == "default"
    assert pairing_code_current(session_name="default", now=T0 + timedelta(seconds=60)) is None


def test_a_new_code_replaces_the_old_one() -> None:
    pairing_code_store(session_name="default", kind="qr", code="2@first", ttl_seconds=60, now=T0)
    pairing_code_store(
        session_name="default", kind="qr", code="2@second", ttl_seconds=20, now=T0 + timedelta(seconds=20)
    )

    assert pairing_code_current(session_name="default", now=T0 + timedelta(seconds=30)).code == "2@second"
    assert PairingCode.objects.count() == 1, "a rotating QR does not pile up rows"


def test_sessions_have_their_own_codes() -> None:
    pairing_code_store(session_name="default", kind="qr", code="2@default", ttl_seconds=60, now=T0)
    pairing_code_store(session_name="second", kind="phone_code", code="abcd-1234", ttl_seconds=180, now=T0)

    assert pairing_code_current(session_name="default", now=T0).code == "2@default"
    phone = pairing_code_current(session_name="second", now=T0)
    assert (phone.kind, phone.code) == ("phone_code", "ABCD-1234")
    assert pairing_code_current(session_name="third", now=T0) is None


def test_clearing_after_pairing_hides_the_code() -> None:
    pairing_code_store(session_name="default", kind="qr", code=QR, ttl_seconds=60, now=T0)

    assert pairing_code_clear(session_name="default") == 1

    assert pairing_code_current(session_name="default", now=T0) is None


@pytest.mark.parametrize(
    ("kind", "code", "ttl", "words"),
    [
        ("sms", QR, 60, "kind must be one of qr, phone_code"),
        ("qr", "   ", 60, "1 to 4096 characters"),
        ("qr", "x" * 5000, 60, "1 to 4096 characters"),
        ("phone_code", "12345", 60, "ABCD-1234"),
        ("qr", QR, 0, "ttl_seconds must be positive"),
    ],
)
def test_it_rejects_bad_input_and_stores_nothing(kind: str, code: str, ttl: int, words: str) -> None:
    pairing_code_store(session_name="default", kind="qr", code="2@kept", ttl_seconds=60, now=T0)

    with pytest.raises(ValueError, match=re.escape(words)):
        pairing_code_store(session_name="default", kind=kind, code=code, ttl_seconds=ttl, now=T0)

    assert pairing_code_current(session_name="default", now=T0).code == "2@kept", "the previous code is not lost"


def test_the_code_never_reaches_a_log_line(caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        pairing_code_store(session_name="default", kind="qr", code=QR, ttl_seconds=60, now=T0)

    assert "pairing code stored" in caplog.text
    assert all(QR not in r.getMessage() and QR not in str(r.__dict__) for r in caplog.records)


def modules_from_terminal(text: str) -> list[list[bool]]:
    """Read the compact terminal drawing back into rows of dark (True) / light (False) modules."""
    upper_light = {"█": True, "▀": True, "▄": False, " ": False}
    lower_light = {"█": True, "▀": False, "▄": True, " ": False}
    rows: list[list[bool]] = []
    for line in text.rstrip("\n").split("\n"):
        rows.append([not upper_light[ch] for ch in line])
        rows.append([not lower_light[ch] for ch in line])
    return rows


def test_the_terminal_qr_draws_exactly_the_modules_of_a_full_qr_code() -> None:
    text = pairing_qr_terminal(QR)

    expected = segno.make_qr(QR, error="l")
    assert not expected.is_micro
    matrix = [[bool(m) for m in row] for row in expected.matrix]
    size = len(matrix)
    border = 4
    width = size + 2 * border
    drawn = modules_from_terminal(text)
    assert len(drawn) in {width, width + 1}, "two module rows per text line"
    drawn = drawn[:width]  # an odd row count leaves half of the last text line unused
    assert all(len(row) == width for row in drawn)
    assert all(not any(row) for row in drawn[:border]), "a quiet zone of four light modules above"
    inner = [row[border : border + size] for row in drawn[border : border + size]]
    assert inner == matrix
    assert all(not any(row[:border]) and not any(row[border + size :]) for row in drawn)


def test_a_short_payload_still_gives_a_full_qr_not_a_micro_qr() -> None:
    assert "█" in pairing_qr_terminal("2@a")
    assert len(modules_from_terminal(pairing_qr_terminal("2@a"))[0]) == 21 + 8


def test_the_svg_qr_is_one_inline_svg_element_with_the_code_drawn() -> None:
    svg = pairing_qr_svg(QR)

    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg") and "pair-qr" in root.get("class")
    size = len(segno.make_qr(QR, error="l").matrix)
    assert int(root.get("width")) == (size + 8) * 6
    assert "Linked devices" in svg
    assert svg != pairing_qr_svg("2@other"), "another code draws another picture"
    assert QR not in svg, "the SVG draws the code, it does not carry it as text"


def test_drawing_an_empty_code_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        pairing_qr_svg("")
    with pytest.raises(ValueError, match="empty"):
        pairing_qr_terminal("")


def test_a_stored_qr_reaches_the_pairing_page_and_leaves_it_when_paired(admin_client) -> None:
    pairing_code_store(session_name="default", kind="qr", code=QR, ttl_seconds=60)

    page = admin_client.get("/pair/?session=default").content.decode()

    assert 'id="qr"' in page and "<svg" in page
    assert "Linked devices" in page

    pairing_code_clear(session_name="default")
    page = admin_client.get("/pair/?session=default").content.decode()
    assert 'id="qr"' not in page


def test_a_stored_phone_code_is_shown_as_text_on_the_pairing_page(admin_client) -> None:
    pairing_code_store(session_name="default", kind="phone_code", code="WXYZ-2345", ttl_seconds=180)

    page = admin_client.get("/pair/?session=default").content.decode()

    assert 'id="phone-code">WXYZ-2345<' in page
