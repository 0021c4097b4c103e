"""The outage watch and the write buffer: two lines per outage, writes kept in order, overflow counted.

The writes are real database writes (``ConnectionEvent`` rows); an outage is a write that raises the
driver's ``OperationalError``, as a refused or cut connection does (the process proofs in
``tests/reliability/test_database_outage.py`` do it with a real server).
"""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from bot import db_buffer, events
from bot.db_buffer import OutageWatch, WriteBuffer
from bot.models import BotStatus, ConnectionEvent, ReconnectEvent

# An outage drops the thread's connection (as a broken one must be): no test transaction around it.
pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Outage:
    """A switch between the real write and the error a database that is away raises."""

    def __init__(self) -> None:
        self.away = False

    def guard(self, write):
        def guarded():
            if self.away:
                raise OperationalError("connection refused")
            return write()

        return guarded


def record(tag: str):
    at = timezone.now()
    return lambda: ConnectionEvent.objects.create(session_name="buf", at=at, from_state="a", to_state="b", reason=tag)


@pytest.fixture
def fresh_process_buffer():
    """bot.events writes through this process's buffer: a clean one per test."""
    db_buffer._watches.clear()
    db_buffer._buffers.clear()
    yield db_buffer.write_buffer()
    db_buffer._watches.clear()
    db_buffer._buffers.clear()


def test_an_outage_is_one_warning_when_it_starts_and_one_with_its_length_when_it_ends(caplog):
    clock = Clock()
    watch = OutageWatch(component="supervisor", clock=clock)
    caplog.set_level(logging.INFO, logger="bot.db_buffer")
    for _ in range(50):
        watch.failed(OperationalError("refused"))
        clock.now += 0.5
    watch.ok()
    watch.ok()
    lines = [
        (r.levelname, r.getMessage(), getattr(r, "component", ""), getattr(r, "outage_s", None)) for r in caplog.records
    ]
    assert lines == [
        ("WARNING", "database unreachable", "supervisor", None),
        ("WARNING", "database back", "supervisor", 25.0),
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert watch.outages == 1 and not watch.down


def test_writes_during_an_outage_are_written_afterwards_in_the_order_they_happened():
    outage = Outage()
    buffer = WriteBuffer(watch=OutageWatch(component="child"))
    assert buffer.submit("event", outage.guard(record("before"))) is not None
    outage.away = True
    for n in range(3):
        assert buffer.submit("event", outage.guard(record(f"during-{n}"))) is None
    assert buffer.watch.down and buffer.pending == 3
    assert buffer.drain() == 0  # still away: nothing written, nothing lost
    outage.away = False
    buffer.submit("event", outage.guard(record("after")))  # waits behind the older ones
    assert buffer.pending == 4
    assert buffer.drain() == 4
    rows = list(ConnectionEvent.objects.filter(session_name="buf").order_by("id").values_list("reason", "at"))
    assert [reason for reason, _ in rows] == ["before", "during-0", "during-1", "during-2", "after"]
    assert [at for _, at in rows] == sorted(at for _, at in rows)  # stamped when they happened
    assert not buffer.watch.down and buffer.lost == 0 and buffer.written_late == 4


def test_a_full_buffer_counts_what_it_could_not_keep(caplog):
    outage = Outage()
    outage.away = True
    buffer = WriteBuffer(watch=OutageWatch(component="child"), size=3)
    caplog.set_level(logging.WARNING, logger="bot.db_buffer")
    for n in range(5):
        buffer.submit("event", outage.guard(record(f"n{n}")))
    assert (buffer.pending, buffer.lost) == (3, 2)
    assert [r.getMessage() for r in caplog.records].count("database write buffer full; write lost") == 1
    outage.away = False
    buffer.drain()
    assert list(ConnectionEvent.objects.filter(session_name="buf").values_list("reason", flat=True).order_by("id")) == [
        "n0",
        "n1",
        "n2",
    ]


def test_a_bad_write_is_a_bug_not_an_outage_and_is_raised():
    buffer = WriteBuffer(watch=OutageWatch(component="child"))

    def bad():
        raise IntegrityError("duplicate key")

    with pytest.raises(IntegrityError):
        buffer.submit("event", bad)
    assert not buffer.watch.down and buffer.pending == 0


def test_a_reconnect_attempt_opened_and_closed_while_away_is_written_closed(fresh_process_buffer):
    watch = fresh_process_buffer.watch
    watch.failed(OperationalError("refused"))
    fresh_process_buffer.defer = True  # as if every write had failed: they all wait
    attempt = events.reconnect_event_open(session_name="buf", attempt=1, delay_seconds=0.5, reason="blip")
    events.reconnect_event_close(event=attempt, outcome="succeeded")
    events.transition_record(session_name="buf", from_state="reconnecting", to_state="connected", reason="back")
    assert attempt.pk is None and not ReconnectEvent.objects.exists()
    fresh_process_buffer.defer = False
    assert fresh_process_buffer.drain() == 3
    row = ReconnectEvent.objects.get(session_name="buf")
    assert (row.pk, row.outcome, row.at) == (attempt.pk, "succeeded", attempt.at)
    assert BotStatus.objects.get(session_name="buf").state == "connected"


def test_attempts_a_killed_child_left_pending_are_closed_for_it_and_no_others(fresh_process_buffer):
    mine = ReconnectEvent.objects.create(session_name="buf", attempt=1, delay_seconds=1, reason="x", detail={"pid": 41})
    other = ReconnectEvent.objects.create(
        session_name="buf", attempt=1, delay_seconds=1, reason="x", detail={"pid": 42}
    )
    done = ReconnectEvent.objects.create(
        session_name="buf", attempt=1, delay_seconds=1, reason="x", detail={"pid": 41}, outcome="failed"
    )
    assert events.reconnect_events_close_left(session_name="buf", reason="child_exited", child_pid=41) == 1
    mine.refresh_from_db(), other.refresh_from_db(), done.refresh_from_db()
    assert (mine.outcome, mine.detail) == ("gave_up", {"pid": 41, "closed_because": "child_exited"})
    assert (other.outcome, done.outcome) == ("pending", "failed")
    assert events.reconnect_events_close_left(session_name="buf", reason="process_restarted") == 1
    other.refresh_from_db()
    assert other.outcome == "gave_up"
