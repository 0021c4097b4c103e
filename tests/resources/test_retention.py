"""Retention and roll-up: counts before and after, on the real database."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from bot.models import ConnectionEvent, MessageStat, ReconnectEvent
from bot.retention import events_prune, pairing_codes_prune, prune_all, stats_rollup

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def test_events_older_than_the_retention_are_deleted_and_newer_kept() -> None:
    for days in (1, 29, 31, 45):
        ConnectionEvent.objects.create(
            session_name="default", at=NOW - timedelta(days=days), from_state="connecting", to_state="connected"
        )
        ReconnectEvent.objects.create(
            session_name="default", at=NOW - timedelta(days=days), attempt=1, delay_seconds=1, reason="network"
        )
    assert events_prune(now=NOW, days=30) == {"connection_events": 2, "reconnect_events": 2, "reconnect_hours": 0}
    assert ConnectionEvent.objects.count() == 2 and ReconnectEvent.objects.count() == 2


def test_minute_rows_older_than_48_hours_roll_up_into_hours_with_the_same_totals() -> None:
    start = NOW - timedelta(hours=50)
    for minute in range(120):  # two full hours, 50 h ago
        MessageStat.objects.create(
            session_name="default",
            bucket=start.replace(minute=0) + timedelta(minutes=minute),
            messages_in=2,
            messages_out=1,
            commands=1,
            by_command={"ping": 1},
            rss_max_bytes=minute,
        )
    MessageStat.objects.create(session_name="default", bucket=NOW - timedelta(hours=1), messages_in=5)
    result = stats_rollup(now=NOW)
    assert result["minute_rows_rolled_up"] == 120
    hours = MessageStat.objects.filter(resolution="hour").order_by("bucket")
    assert [h.messages_in for h in hours] == [120, 120]
    assert [h.by_command for h in hours] == [{"ping": 60}, {"ping": 60}]
    assert hours[1].rss_max_bytes == 119
    assert MessageStat.objects.filter(resolution="minute").count() == 1
    # Idempotent: a second pass finds nothing more to roll up.
    assert stats_rollup(now=NOW)["minute_rows_rolled_up"] == 0
    assert MessageStat.objects.filter(resolution="hour").count() == 2


def test_the_counts_of_what_went_wrong_roll_up_with_their_minutes() -> None:
    start = (NOW - timedelta(hours=50)).replace(minute=0)
    for minute in range(3):
        MessageStat.objects.create(
            session_name="default",
            bucket=start + timedelta(minutes=minute),
            counts={"undecryptable:failed": 2, "send_failure:other": minute},
        )
    stats_rollup(now=NOW)
    (hour,) = MessageStat.objects.filter(resolution="hour")
    assert hour.counts == {"undecryptable:failed": 6, "send_failure:other": 3}


def test_hour_rows_older_than_30_days_are_deleted() -> None:
    MessageStat.objects.create(session_name="default", resolution="hour", bucket=NOW - timedelta(days=31))
    MessageStat.objects.create(session_name="default", resolution="hour", bucket=NOW - timedelta(days=29))
    assert stats_rollup(now=NOW)["hour_rows_deleted"] == 1


def test_expired_pairing_codes_are_deleted() -> None:
    from sessions_store.models import PairingCode, WhatsAppSession

    session = WhatsAppSession.objects.create(name="default")
    PairingCode.objects.create(session=session, kind="qr", code="old", expires_at=NOW - timedelta(seconds=1))
    PairingCode.objects.create(session=session, kind="qr", code="new", expires_at=NOW + timedelta(seconds=60))
    assert pairing_codes_prune(now=NOW) == {"pairing_codes": 1}
    assert list(PairingCode.objects.values_list("code", flat=True)) == ["new"]


def test_failed_backups_older_than_a_day_go_and_verified_ones_stay() -> None:
    from sessions_store.models import SessionBackup, WhatsAppSession

    session = WhatsAppSession.objects.create(name="default")
    for state, age in (("failed", 2), ("corrupt", 2), ("failed", 0), ("verified", 40)):
        SessionBackup.objects.create(
            session=session, reason="scheduled", state=state, created_at=NOW - timedelta(days=age)
        )
    summary = prune_all(now=NOW)
    assert summary["failed_backups"] == 2
    assert sorted(SessionBackup.objects.values_list("state", flat=True)) == ["failed", "verified"]


def test_the_prune_command_prints_what_it_removed() -> None:
    ConnectionEvent.objects.create(
        session_name="s", at=datetime(2020, 1, 1, tzinfo=UTC), from_state="connecting", to_state="connected"
    )
    out = io.StringIO()
    call_command("prune", stdout=out)
    text = out.getvalue()
    assert "connection_events: 1" in text
    assert text.strip().splitlines()[-1].startswith("pruned: connection_events=1")
