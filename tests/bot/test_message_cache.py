"""The message cache behind anti-delete and anti-edit: encrypted at rest, bound to its row, bounded by
age and size, purged by retention, and still there for a new keeper (a restarted bot)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from bot.dispatch.history import HistoryKeeper
from bot.message_cache import (
    message_cache_get,
    message_cache_prune,
    message_cache_purge_chat,
    message_cache_put,
)
from bot.models import CachedMessage
from bot.retention import prune_all
from bot.transport.base import MessageRevoked
from tests.bot.dispatch_kit import ALICE, BOB, GROUP, msg

pytestmark = pytest.mark.django_db

SECRET = "Meet me behind the old mill at midnight, bring the ledger"
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


def put(message_id: str, text: str = SECRET, *, chat: str = GROUP, session: str = "s1") -> bool:
    return message_cache_put(
        session_name=session,
        chat=chat,
        message_id=message_id,
        sender=ALICE,
        sender_alt="",
        kind="text",
        text=text,
        push_name="Alice Undercover",
        sent_at=NOW,
    )


def get(message_id: str, *, chat: str = GROUP, session: str = "s1", now: datetime | None = None):
    return message_cache_get(session_name=session, chat=chat, message_id=message_id, now=now or datetime.now(UTC))


def raw_columns() -> list[bytes]:
    """Every stored byte of the table, read with plain SQL (what a database dump would show)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {CachedMessage._meta.db_table}")  # noqa: S608
        rows = cursor.fetchall()
    return [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for row in rows for v in row]


def test_the_text_and_push_name_never_reach_the_database_in_clear():
    assert put("M1")
    stored = b"".join(raw_columns())
    for clear in (SECRET, "midnight", "Alice Undercover"):
        assert clear.encode() not in stored
        assert base64.b64encode(clear.encode()) not in stored
    cached = get("M1")
    assert (cached.text, cached.push_name, cached.sender, cached.kind) == (SECRET, "Alice Undercover", ALICE, "text")


def test_a_ciphertext_moved_to_another_message_or_session_does_not_open():
    put("M1")
    put("M2", "something else")
    content = CachedMessage.objects.get(message_id="M1").content
    CachedMessage.objects.filter(message_id="M2").update(content=content)
    assert get("M2") is None  # bound to (session, chat, message id) as associated data
    put("M1", session="s2")
    CachedMessage.objects.filter(session_name="s2").update(content=content)
    assert get("M1", session="s2") is None  # and each session has a key of its own


def test_a_changed_secret_key_leaves_old_rows_unreadable_and_a_rotated_key_keeps_them(settings):
    put("M1")
    settings.SESSION_ENCRYPTION_KEY = base64.b64encode(b"k" * 32).decode()
    assert get("M1").text == SECRET  # the SECRET_KEY-derived key still decrypts (rotation)
    put("M2", "new key")
    assert CachedMessage.objects.get(message_id="M2").key_id != CachedMessage.objects.get(message_id="M1").key_id
    settings.SECRET_KEY = "another-secret-key-entirely-0123456789abcdefghij"
    assert get("M1") is None and get("M2").text == "new key"


def test_the_same_id_is_kept_once():
    assert put("M1") and not put("M1", "again")
    assert get("M1").text == SECRET


def test_an_expired_message_is_never_read_and_retention_deletes_it(settings):
    settings.ANTIDELETE_TTL_HOURS = 24
    put("OLD")
    put("NEW")
    CachedMessage.objects.filter(message_id="OLD").update(cached_at=datetime.now(UTC) - timedelta(hours=25))
    assert get("OLD") is None and get("NEW") is not None
    summary = prune_all()
    assert summary["cached_messages"] == 1
    assert list(CachedMessage.objects.values_list("message_id", flat=True)) == ["NEW"]
    assert message_cache_prune(now=datetime.now(UTC) + timedelta(hours=25), hours=24) == {"cached_messages": 1}


def test_each_chat_and_each_session_keep_their_newest_messages_only(settings):
    settings.ANTIDELETE_MAX_PER_CHAT, settings.ANTIDELETE_MAX_PER_SESSION = 10, 15
    for n in range(14):
        put(f"G{n}")
        assert CachedMessage.objects.filter(chat=GROUP).count() <= 10  # never past the cap
    assert sorted(CachedMessage.objects.values_list("message_id", flat=True)) == sorted(f"G{n}" for n in range(4, 14))
    for n in range(8):
        put(f"P{n}", chat=ALICE)
    kept = set(CachedMessage.objects.values_list("message_id", flat=True))
    # past a cap the oldest go, down to 90% of it (14 of 15): the session's oldest, whichever chat they are in
    assert kept == {f"G{n}" for n in range(8, 14)} | {f"P{n}" for n in range(8)}
    assert put("X", session="s2")  # another session's cap is its own
    assert CachedMessage.objects.filter(session_name="s1").count() == 14


def test_purging_a_chat_forgets_only_that_chat():
    put("G1")
    put("P1", chat=ALICE)
    assert message_cache_purge_chat(session_name="s1", chat=GROUP) == 1
    assert list(CachedMessage.objects.values_list("message_id", flat=True)) == ["P1"]


def test_a_restarted_keeper_still_finds_what_the_previous_one_kept(settings):
    settings.OWNER_NUMBERS = []
    first = HistoryKeeper(session_name="s1")
    first.chat_set(ALICE, antidelete=True)
    assert first.observe(msg("remember this", chat=ALICE, sender=BOB, msg_id="K1"))
    del first  # the process ends; only the database is left
    second = HistoryKeeper(session_name="s1")
    result = second.handle(MessageRevoked(id="R1", chat=ALICE, sender=BOB, target_id="K1"))
    [reply] = result.replies
    assert reply.chat == ALICE and reply.text.endswith("\nremember this")


def test_both_switches_off_forget_the_chats_messages():
    keeper = HistoryKeeper(session_name="s1")
    keeper.chat_set(GROUP, antidelete=True, antiedit=True)
    keeper.observe(msg("one", chat=GROUP, sender=BOB, msg_id="A1"))
    assert keeper.chat_set(GROUP, antidelete=False)[1] == 0
    assert keeper.chat_set(GROUP, antiedit=False)[1] == 1
    assert not keeper.observe(msg("two", chat=GROUP, sender=BOB, msg_id="A2"))
    assert not CachedMessage.objects.exists()


def test_the_admin_lists_kept_messages_by_their_metadata_never_their_text(client):
    from django.urls import reverse

    from tests.support.operators import operator

    put("ADM1")
    row = CachedMessage.objects.get(message_id="ADM1")
    client.force_login(operator("auditor", "bot.view_cachedmessage"))
    pages = [
        client.get(reverse("admin:bot_cachedmessage_changelist")),
        client.get(reverse("admin:bot_cachedmessage_change", args=[row.pk])),
    ]
    assert "field-sender" in pages[1].content.decode()  # how the admin names a field it shows
    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200 and "ADM1" in body
        assert "midnight" not in body and "Alice Undercover" not in body
        assert "sender" in body and "field-content" not in body and "column-content" not in body  # no ciphertext either
