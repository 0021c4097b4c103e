"""/stats reads reconnects from the writer's hourly tally: it must agree with the attempt rows."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import OperationalError, connection
from django.db.migrations.executor import MigrationExecutor

from bot import db_buffer, events
from bot.models import ReconnectEvent, ReconnectHour
from bot.retention import events_prune
from bot.session_removal import session_remove_everything
from ops.selectors.stats import session_stats

NOW = datetime(2026, 12, 3, 11, 30, tzinfo=UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture
def buffer():
    db_buffer._watches.clear()
    db_buffer._buffers.clear()
    yield db_buffer.write_buffer()
    db_buffer._watches.clear()
    db_buffer._buffers.clear()


def test_each_attempt_recorded_adds_one_to_its_hour_and_reason(buffer) -> None:
    for minutes_ago, reason in [(1, "blip"), (20, "blip"), (25, "stream_error"), (95, "blip")]:
        with time_machine.travel(NOW - timedelta(minutes=minutes_ago), tick=False):
            events.reconnect_event_open(session_name="kit", attempt=1, delay_seconds=0.5, reason=reason)
    tally = {
        (row.hour.astimezone(UTC).hour, row.reason): row.count
        for row in ReconnectHour.objects.filter(session_name="kit")
    }
    assert tally == {(11, "blip"): 2, (11, "stream_error"): 1, (9, "blip"): 1}
    assert ReconnectEvent.objects.filter(session_name="kit").count() == 4


@pytest.mark.django_db(transaction=True)  # the outage drops the connection, and a test transaction with it
def test_an_attempt_written_after_an_outage_is_tallied_once_in_the_hour_it_happened(buffer) -> None:
    buffer.watch.failed(OperationalError("refused"))
    buffer.defer = True
    with time_machine.travel(NOW - timedelta(hours=3), tick=False):
        attempt = events.reconnect_event_open(session_name="kit", attempt=1, delay_seconds=1, reason="blip")
    buffer.defer = False
    with time_machine.travel(NOW, tick=False):
        buffer.drain()
    row = ReconnectHour.objects.get()
    assert (row.hour, row.count) == (attempt.at.replace(minute=0, second=0, microsecond=0), 1)


def test_stats_figures_equal_a_count_of_the_rows_in_the_24_hourly_slots(buffer) -> None:
    rng = random.Random(7)
    reasons = ["blip", "stream_error", "keepalive_timeout", "child_memory"]
    for _ in range(300):  # spread over 40 hours: some fall before the window
        with time_machine.travel(NOW - timedelta(seconds=rng.randrange(1, 40 * 3600)), tick=False):
            events.reconnect_event_open(session_name="kit", attempt=1, delay_seconds=1, reason=rng.choice(reasons))
    window_start = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    rows = ReconnectEvent.objects.filter(session_name="kit", at__gte=window_start)
    expected = Counter(rows.values_list("reason", flat=True))
    per_hour = Counter(at.replace(minute=0, second=0, microsecond=0) for at in rows.values_list("at", flat=True))
    stats = session_stats(session_name="kit", now=NOW)
    assert stats["reconnects"]["last_24h_by_reason"] == dict(sorted(expected.items()))
    assert stats["reconnects"]["last_24h_total"] == sum(expected.values())
    slots = [window_start + timedelta(hours=i) for i in range(24)]
    assert stats["series"]["hours"]["reconnects"] == [per_hour.get(slot, 0) for slot in slots]


def test_retention_and_session_removal_take_the_tally_with_the_rows(buffer) -> None:
    for days_ago in (40, 1):
        with time_machine.travel(NOW - timedelta(days=days_ago), tick=False):
            events.reconnect_event_open(session_name="kit", attempt=1, delay_seconds=1, reason="blip")
    assert events_prune(now=NOW, days=30)["reconnect_hours"] == 1
    assert ReconnectHour.objects.count() == 1
    session_remove_everything(name="kit", force=True)


@pytest.mark.django_db(transaction=True)
def test_the_migration_tallies_the_last_two_days_of_attempts_already_recorded() -> None:
    before, after = [("bot", "0007_messagestat_counts")], [("bot", "0008_reconnecthour")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps.get_model("bot", "ReconnectEvent")
        now = datetime.now(UTC)
        for hours_ago, reason in [(1, "blip"), (1, "blip"), (5, "stream_error"), (72, "blip")]:
            old.objects.create(
                session_name="kit", at=now - timedelta(hours=hours_ago), attempt=1, delay_seconds=1, reason=reason
            )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        tally = Counter()
        for reason, count in ReconnectHour.objects.values_list("reason", "count"):
            tally[reason] += count
        assert tally == {"blip": 2, "stream_error": 1}  # 72 hours ago is outside what /stats shows
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        ReconnectEvent.objects.all().delete()
        ReconnectHour.objects.all().delete()
