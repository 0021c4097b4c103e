"""Session services the bot child calls: a successful pairing, and a connection coming up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from sessions_store.models import PairingCode, SessionBackup, WhatsAppSession
from sessions_store.pairing import pairing_code_current, pairing_code_store
from sessions_store.services import session_get_or_create, session_mark_connected, session_pairing_succeeded

from .factories import DEFAULT_JID, make_empty_store, make_paired_store

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def test_a_successful_pairing_clears_the_code_marks_the_session_paired_and_backs_it_up() -> None:
    make_paired_store("fresh")
    pairing_code_store(session_name="fresh", kind="qr", code="2@scanned", ttl_seconds=60)

    with time_machine.travel(T0, tick=False):
        session_pairing_succeeded(session_name="fresh", jid=DEFAULT_JID, push_name="Bot")

    assert pairing_code_current(session_name="fresh") is None
    assert PairingCode.objects.filter(session__name="fresh", consumed=True).count() == 1
    session = WhatsAppSession.objects.get(name="fresh")
    assert (session.status, session.jid, session.push_name) == ("paired", DEFAULT_JID, "Bot")
    assert session.paired_at == session.last_connected_at == T0
    [backup] = SessionBackup.objects.filter(session=session)
    assert (backup.reason, backup.state, backup.device_jid) == ("paired", "verified", DEFAULT_JID)


def test_a_pairing_whose_store_has_no_device_yet_is_recorded_without_a_backup() -> None:
    make_empty_store("early")

    session_pairing_succeeded(session_name="early", jid=DEFAULT_JID, push_name="")

    assert WhatsAppSession.objects.get(name="early").status == "paired"
    assert not SessionBackup.objects.filter(session__name="early").exists(), "nothing to keep: no device row"


def test_a_connection_sets_last_connected_at_and_nothing_else() -> None:
    before = session_get_or_create(name="up")

    with time_machine.travel(T0, tick=False):
        session_mark_connected(session_name="up")

    after = WhatsAppSession.objects.get(name="up")
    assert after.last_connected_at == T0
    assert (after.status, after.paired_at, after.updated_at) == (before.status, before.paired_at, before.updated_at)


def test_a_connection_of_an_unknown_session_creates_no_row() -> None:
    session_mark_connected(session_name="ghost")

    assert not WhatsAppSession.objects.filter(name="ghost").exists()
