"""The outbox services (bot.outbox): queueing with the handled id, heads per chat, state changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import outbox
from bot.child.sending import item_reply
from bot.models import HandledMessage, OutboxItem
from bot.transport.base import Reply

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
A = "15550000001@s.whatsapp.net"
B = "15550000002@s.whatsapp.net"
Q = OutboxItem.State


def text(chat: str, body: str) -> Reply:
    return Reply(kind="text", chat=chat, text=body)


def test_replies_and_the_handled_id_are_written_together_and_a_second_time_writes_nothing():
    ids = outbox.outbox_enqueue(session_name="s", replies=[text(A, "one"), text(A, "two")], answers="M1", now=NOW)
    assert len(ids) == 2
    again = outbox.outbox_enqueue(session_name="s", replies=[text(A, "three")], answers="M1", now=NOW)
    assert again is None
    assert list(OutboxItem.objects.order_by("id").values_list("content__text", flat=True)) == ["one", "two"]
    assert outbox.handled_message_seen(session_name="s", message_id="M1")
    assert not outbox.handled_message_seen(session_name="other", message_id="M1")  # per session
    assert HandledMessage.objects.count() == 1


def test_a_queued_item_may_wait_the_configured_age(settings):
    settings.OUTBOX_MAX_AGE_SECONDS = 120
    [pk] = outbox.outbox_enqueue(session_name="s", replies=[text(A, "x")], now=NOW)
    item = OutboxItem.objects.get(pk=pk)
    assert (item.state, item.created_at, item.not_after) == (Q.QUEUED, NOW, NOW + timedelta(seconds=120))


@pytest.mark.parametrize(
    "reply",
    [
        Reply(kind="text", chat=A, text="hi @1555", mentions=("1555@s.whatsapp.net",), reply_to="M9", target=B),
        Reply(kind="reaction", chat=A, emoji="👍", reply_to="M9", target=B),
        Reply(kind="group", chat="1203@g.us", action="remove", targets=(A, B)),
        Reply(kind="video", chat=A, asset="hug", text="a hug", gif_playback=True),
        Reply(kind="delete", chat="1203@g.us", reply_to="M7", target=A),
    ],
)
def test_a_stored_reply_reads_back_as_the_same_reply(reply):
    [pk] = outbox.outbox_enqueue(session_name="s", replies=[reply], now=NOW)
    assert item_reply(OutboxItem.objects.get(pk=pk)) == reply


def test_content_with_an_unknown_field_is_refused_with_its_name():
    item = OutboxItem(session_name="s", chat=A, kind="text", content={"text": "x", "colour": "red"}, not_after=NOW)
    with pytest.raises(ValueError, match="colour"):
        item_reply(item)


def test_heads_are_each_chats_first_item_and_a_backing_off_head_holds_its_chat():
    ids = outbox.outbox_enqueue(session_name="s", replies=[text(A, "a1"), text(B, "b1"), text(A, "a2")], now=NOW)
    assert [(h.id, h.chat, h.ready) for h in outbox.outbox_heads(session_name="s", now=NOW)] == [
        (ids[0], A, True),
        (ids[1], B, True),
    ]
    outbox.outbox_mark_retry(item_id=ids[0], error="socket closed", retry_at=NOW + timedelta(seconds=5))
    heads = {h.chat: h for h in outbox.outbox_heads(session_name="s", now=NOW)}
    assert (heads[A].id, heads[A].ready) == (ids[0], False)  # a2 is not offered before a1
    assert heads[A] == outbox.Head(id=ids[0], chat=A, ready=False)
    assert outbox.outbox_heads(session_name="s", now=NOW + timedelta(seconds=5))[0].ready


def test_items_past_not_after_expire_and_are_counted():
    outbox.outbox_enqueue(session_name="s", replies=[text(A, "old")], now=NOW - timedelta(hours=1))
    outbox.outbox_enqueue(session_name="s", replies=[text(A, "new")], now=NOW)
    assert outbox.outbox_expire(session_name="s", now=NOW) == 1
    counts = outbox.outbox_counts(session_name="s")
    assert (counts["queued"], counts["expired"], counts["sent"]) == (1, 1, 0)
    assert outbox.outbox_oldest_queued(session_name="s") == NOW


def test_the_message_id_is_stored_at_the_first_attempt_and_kept_for_a_resend():
    [pk] = outbox.outbox_enqueue(session_name="s", replies=[text(A, "x")], now=NOW)
    first = outbox.outbox_attempt_begin(item_id=pk, now=NOW, message_id="3EB0AAA")
    second = outbox.outbox_attempt_begin(item_id=pk, now=NOW, message_id="3EB0BBB")
    assert (first.message_id, first.attempts) == ("3EB0AAA", 1)
    assert (second.message_id, second.attempts) == ("3EB0AAA", 2)
    assert OutboxItem.objects.get(pk=pk).message_id == "3EB0AAA"
    assert outbox.outbox_mark_sent(item_id=pk, message_id="3EB0AAA", now=NOW)
    assert outbox.outbox_attempt_begin(item_id=pk, now=NOW) is None  # sent: nobody claims it again
    assert not outbox.outbox_mark_failed(item_id=pk, error="late")  # and nothing overwrites "sent"
    assert OutboxItem.objects.get(pk=pk).state == Q.SENT


def test_operators_retry_failed_items_with_a_fresh_age_and_discard_queued_ones():
    ids = outbox.outbox_enqueue(
        session_name="s", replies=[text(A, "f"), text(A, "q"), text(A, "s")], now=NOW - timedelta(hours=2)
    )
    outbox.outbox_mark_failed(item_id=ids[0], error="bad")
    outbox.outbox_mark_sent(item_id=ids[2], message_id="X", now=NOW)
    assert outbox.outbox_item_retry(item_ids=ids, now=NOW) == 1  # only the failed one
    retried = OutboxItem.objects.get(pk=ids[0])
    assert (retried.state, retried.attempts, retried.last_error) == (Q.QUEUED, 0, "")
    assert retried.not_after > NOW
    assert outbox.outbox_item_discard(item_ids=ids, by="alice") == 2  # the two queued; the sent one stays
    states = dict(OutboxItem.objects.values_list("id", "state"))
    assert states == {ids[0]: Q.DISCARDED, ids[1]: Q.DISCARDED, ids[2]: Q.SENT}
    assert OutboxItem.objects.get(pk=ids[1]).last_error == "discarded by alice"


def test_pruning_removes_old_finished_items_and_handled_ids_but_never_queued_ones():
    old = NOW - timedelta(days=40)
    ids = outbox.outbox_enqueue(session_name="s", replies=[text(A, "sent"), text(A, "queued")], answers="M1", now=old)
    outbox.outbox_mark_sent(item_id=ids[0], message_id="X", now=old)
    outbox.outbox_enqueue(session_name="s", replies=[text(A, "recent")], answers="M2", now=NOW)
    assert outbox.outbox_prune(now=NOW, days=30) == {"outbox_items": 1, "handled_messages": 1}
    assert set(OutboxItem.objects.values_list("content__text", flat=True)) == {"queued", "recent"}
    assert list(HandledMessage.objects.values_list("message_id", flat=True)) == ["M2"]


def test_a_batch_is_written_in_one_go_and_a_redelivered_id_in_it_leaves_only_that_one_out():
    outbox.outbox_enqueue(session_name="s", replies=[text(A, "first")], answers="M1", now=NOW)
    written = outbox.outbox_enqueue_many(
        session_name="s",
        entries=[("M2", [text(A, "two")]), ("M1", [text(A, "again")]), ("", [text(B, "welcome")]), ("M3", [])],
        now=NOW,
    )
    assert written == 3  # M1 was handled before: its reply is not queued twice
    assert list(OutboxItem.objects.order_by("id").values_list("content__text", flat=True)) == [
        "first",
        "two",
        "welcome",
    ]
    assert set(HandledMessage.objects.values_list("message_id", flat=True)) == {"M1", "M2", "M3"}


def test_handled_ids_of_a_batch_are_read_in_one_query(django_assert_num_queries):
    outbox.outbox_enqueue(session_name="s", replies=[], answers="OLD", now=NOW)
    handled = outbox.HandledIds(session_name="s")
    with django_assert_num_queries(1):
        handled.prefetch(["OLD", "NEW1", "NEW2"])
        assert [handled(m) for m in ("OLD", "NEW1", "NEW2")] == [True, False, False]
    with django_assert_num_queries(1):
        assert handled("OTHER") is False  # not in the batch: looked up on its own


def test_a_sender_whose_lease_moved_on_cannot_claim_an_item_and_the_new_owner_can():
    from django.db.models import DateTimeField, ExpressionWrapper
    from django.db.models.functions import Now

    from sessions_store.lease import lease_acquire
    from sessions_store.models import SessionLease

    def take(token: str):
        return lease_acquire(session_name="s", holder_host="h", holder_pid=1, token=token, ttl=30)

    old = take("a")
    [pk] = outbox.outbox_enqueue(session_name="s", replies=[text(A, "x")], now=NOW)
    SessionLease.objects.update(expires_at=ExpressionWrapper(Now() - timedelta(seconds=1), output_field=DateTimeField()))
    new = take("b")

    assert outbox.outbox_attempt_begin(item_id=pk, now=NOW, fencing=old.fencing) is None
    assert OutboxItem.objects.get(pk=pk).attempts == 0, "a refused claim counts no attempt"
    assert outbox.outbox_attempt_begin(item_id=pk, now=NOW, fencing=new.fencing).attempts == 1
