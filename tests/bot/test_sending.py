"""The child's outbox sender (bot.child.sending) one step at a time: a hand clock, the memory transport."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import outbox
from bot.backoff import BackoffPolicy
from bot.child.sending import MAX_ATTEMPTS, OutboxSender
from bot.dispatch.limits import PacingConfig
from bot.dispatch.outbound import Outbound
from bot.dispatch.stats import StatsCollector
from bot.models import OutboxItem
from bot.transport.base import Reply, SendResult, TransportError
from tests.support.memory_transport import MemoryTransport

pytestmark = pytest.mark.django_db

START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
A = "15550000001@s.whatsapp.net"
B = "15550000002@s.whatsapp.net"
Q = OutboxItem.State


class HandClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    def now(self) -> datetime:
        return START + timedelta(seconds=self.t - 1000.0)


def make(transport=None, *, pacing: PacingConfig | None = None, clock: HandClock | None = None):
    transport = transport if transport is not None else MemoryTransport()
    clock = clock or HandClock()
    outbound = Outbound(
        transport=transport,
        session_name="s",
        clock=clock,
        sleep=clock.sleep,
        pacing=pacing or PacingConfig(enabled=False),
    )
    stats = StatsCollector(session_name="s")
    sender = OutboxSender(
        session_name="s",
        outbound=outbound,
        stats=stats,
        clock=clock,
        now=clock.now,
        backoff=BackoffPolicy(base=2.0, cap=60.0, max_attempts=MAX_ATTEMPTS, jitter=lambda ceiling: ceiling),
    )
    return sender, transport, clock, stats


def queue(*replies: Reply, at: datetime = START) -> list[int]:
    return outbox.outbox_enqueue(session_name="s", replies=list(replies), now=at)


def text(chat: str, body: str) -> Reply:
    return Reply(kind="text", chat=chat, text=body)


def drain_steps(sender: OutboxSender, limit: int = 100) -> int:
    steps = 0
    while sender.step() and steps < limit:
        steps += 1
    return steps


def test_replies_go_out_in_order_per_chat_with_pacing_and_each_row_says_sent():
    pacing = PacingConfig(global_per_minute=600, burst=10, chat_per_minute=12, chat_burst=3, typing_seconds=0.5)
    sender, transport, clock, stats = make(pacing=pacing)
    queue(*(text(A, f"a{n}") for n in range(5)), text(B, "b0"))
    assert drain_steps(sender) == 6
    assert [r.text for r in transport.sent if r.chat == A] == ["a0", "a1", "a2", "a3", "a4"]
    assert clock.t - 1000.0 >= 2 * 5.0  # two sends past the chat's burst of 3, 5 s apart at 12/min
    rows = list(OutboxItem.objects.order_by("id"))
    assert {r.state for r in rows} == {Q.SENT}
    assert all(r.message_id and r.sent_at and r.attempts == 1 for r in rows)
    assert {r.message_id for r in rows} == {s.message_id for s in transport.sent}  # the ids it went out under
    assert (sender.sent, stats.totals.messages_out) == (6, 6)
    assert ("15550000001@s.whatsapp.net", True) in transport.presences  # typing was shown


def test_the_message_id_is_on_disk_before_the_send_and_a_resend_after_a_lost_answer_is_one_message():
    class AnswerLost(MemoryTransport):
        """Delivers, then fails as if the connection dropped before WhatsApp's answer came back."""

        lose = 1

        def send(self, reply: Reply) -> SendResult:
            stored = OutboxItem.objects.get(chat=reply.chat)
            assert stored.message_id == reply.message_id != ""  # persisted first
            result = super().send(reply)
            if self.lose:
                self.lose -= 1
                raise TransportError("websocket closed before the answer")
            return result

    sender, transport, clock, _ = make(AnswerLost())
    [pk] = queue(text(A, "once"))
    assert sender.step()
    item = OutboxItem.objects.get(pk=pk)
    assert (item.state, item.attempts, item.last_error) == (Q.QUEUED, 1, "websocket closed before the answer")
    clock.sleep(2.0)  # the first back-off (2 s, jitter off)
    assert sender.step()
    item.refresh_from_db()
    assert (item.state, item.attempts) == (Q.SENT, 2)
    assert [r.text for r in transport.sent] == ["once"]  # the same id twice is one message
    assert item.message_id == transport.sent[0].message_id


def test_a_transient_error_backs_off_holding_its_chat_and_fails_after_the_last_attempt():
    transport = MemoryTransport()
    transport.fail_with = TransportError("not connected")
    sender, _, clock, _ = make(transport)
    first, second = queue(text(A, "a0"), text(A, "a1"))
    waits = []
    for _ in range(MAX_ATTEMPTS):
        assert sender.step()
        row = OutboxItem.objects.get(pk=first)
        if row.state == Q.QUEUED:
            waits.append((row.next_attempt_at - clock.now()).total_seconds())
            assert not sender.step()  # backing off: a1 is not sent before a0
            clock.sleep(waits[-1])
    row = OutboxItem.objects.get(pk=first)
    assert (row.state, row.attempts) == (Q.FAILED, MAX_ATTEMPTS)
    assert "after 5 attempts" in row.last_error
    assert waits == [2.0, 4.0, 8.0, 16.0]
    assert OutboxItem.objects.get(pk=second).state == Q.QUEUED  # next in line now
    assert sender.failed == 1 and sender.retried == MAX_ATTEMPTS - 1


def test_a_send_that_crashes_fails_at_once_and_the_chat_moves_on():
    class Broken(MemoryTransport):
        def send(self, reply: Reply) -> SendResult:
            if reply.text == "bad":
                raise KeyError("no such field")
            return super().send(reply)

    sender, transport, _, _ = make(Broken())
    bad, good = queue(text(A, "bad"), text(A, "good"))
    assert drain_steps(sender) == 2
    assert OutboxItem.objects.get(pk=bad).state == Q.FAILED
    assert "KeyError" in OutboxItem.objects.get(pk=bad).last_error
    assert [r.text for r in transport.sent] == ["good"]


def test_nothing_is_sent_while_paused_or_disconnected_and_no_attempt_is_counted():
    sender, transport, clock, _ = make()
    [pk] = queue(text(A, "wait"))
    sender.outbound.pause(60, reason="temporary_ban")
    assert not sender.step()
    connected = False
    sender.outbound.resume()
    sender.can_send = lambda: connected
    assert not sender.step()
    assert OutboxItem.objects.get(pk=pk).attempts == 0
    connected = True
    assert sender.step()
    assert transport.sent[0].text == "wait"


def test_a_pacing_wait_past_the_deadline_leaves_the_item_queued():
    pacing = PacingConfig(global_per_minute=600, burst=10, chat_per_minute=12, chat_burst=1, typing_seconds=0.0)
    sender, transport, clock, _ = make(pacing=pacing)
    first, second = queue(text(A, "now"), text(A, "later"))
    sender.deadline = clock.t + 1.0
    assert sender.step()
    assert not sender.step()  # the next slot in this chat is 5 s away, past the deadline
    assert [r.text for r in transport.sent] == ["now"]
    row = OutboxItem.objects.get(pk=second)
    assert (row.state, row.attempts) == (Q.QUEUED, 0)


def test_items_older_than_their_age_are_expired_never_sent_and_counted():
    sender, transport, _, _ = make()
    queue(text(A, "stale"), at=START - timedelta(hours=1))
    queue(text(B, "fresh"))
    assert drain_steps(sender) == 1
    assert [r.text for r in transport.sent] == ["fresh"]
    assert sender.report() == {
        "outbox_queued": 0,
        "outbox_sent": 1,
        "outbox_failed": 0,
        "outbox_expired": 1,
        "outbox_retried": 0,
    }


def test_drain_without_a_deadline_ends_when_what_cannot_be_sent_has_expired():
    transport = MemoryTransport()
    transport.fail_with = TransportError("not connected")
    sender, _, clock, _ = make(transport)
    queue(text(A, "never"))
    later = START + timedelta(hours=1)
    sender.now = lambda: later  # the item's age budget is over by the time the drain looks
    assert sender.drain(deadline=None) == 0
    assert OutboxItem.objects.get().state == Q.EXPIRED
    assert sender.expired == 1


def test_a_discarded_item_is_not_sent_even_when_it_was_already_picked():
    sender, transport, _, _ = make()
    [pk] = queue(text(A, "drop me"))
    original = sender.outbound.attempt

    def discard_then_attempt(reply, **kw):
        outbox.outbox_item_discard(item_ids=[pk], by="op")  # the operator wins the race
        return original(reply, **kw)

    sender.outbound.attempt = discard_then_attempt
    assert not sender.step()
    assert transport.sent == []
    assert OutboxItem.objects.get(pk=pk).state == Q.DISCARDED
