"""The counters of what goes wrong on /stats and /metrics, from the rows the worker writes; and
``promtool check metrics`` on the whole /metrics text (CI installs promtool: there it never skips)."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from bot.models import BotStatus, ConnectionEvent, MessageStat

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 30, 20, tzinfo=UTC)
STARTED = NOW - timedelta(hours=2)
TOKEN = "stats-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
COUNTS = {
    "undecryptable:failed": 12,
    "undecryptable:unavailable": 3,
    "send_failure:rate_overlimit": 2,
    "send_failure:reachout_timelock": 1,
    "reconnect:disconnected": 4,
    "reconnect:child_crash": 1,
    "keepalive_timeout": 5,
    "history:delete_reposted": 6,
    "history:unknown": 2,
    "call:rejected": 6,
}


@pytest.fixture
def at_now(settings):
    settings.STATS_TOKEN = TOKEN
    settings.UNDECRYPTABLE_ALERT_COUNT, settings.UNDECRYPTABLE_ALERT_MINUTES = 10, 30
    with time_machine.travel(NOW, tick=False):
        yield


def worker_rows(*, counts: dict | None = None, alert: bool = False) -> None:
    BotStatus.objects.create(
        session_name="default",
        state="connected",
        process_started_at=STARTED,
        last_heartbeat_at=NOW - timedelta(seconds=5),
        connected_since=STARTED,
        detail={"counts": counts if counts is not None else COUNTS, "queued": 3, "dropped": 1},
    )
    for minutes_ago, minute in ((30, {"undecryptable:failed": 7}), (25 * 60, {"undecryptable:failed": 99})):
        MessageStat.objects.create(
            session_name="default",
            resolution=MessageStat.Resolution.MINUTE,
            bucket=(NOW - timedelta(minutes=minutes_ago)).replace(second=0, microsecond=0),
            counts={**minute, "send_failure:other": 1, "keepalive_timeout": 2},
        )
    origin = NOW - timedelta(minutes=50)
    ConnectionEvent.objects.create(
        session_name="default",
        at=origin,
        from_state="restoring",
        to_state="restoring",
        reason="session_origin",
        detail={"source": "backup", "backup_id": 7},
    )
    if alert:
        ConnectionEvent.objects.create(
            session_name="default",
            at=origin + timedelta(minutes=4),
            from_state="connected",
            to_state="connected",
            reason="undecryptable_after_restore",
            detail={"count": 11, "seconds": 240.0, "source": "backup"},
        )


def samples(client: Client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics", headers=AUTH).content.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_stats_say_the_totals_since_the_worker_started_and_the_last_24_hours(client: Client, at_now) -> None:
    worker_rows(alert=True)
    (s,) = client.get("/stats", headers=AUTH).json()["sessions"]
    assert s["counters"]["since"] == STARTED.isoformat()
    assert s["counters"]["total"] == {
        "undecryptable": {"unavailable": 3, "failed": 12},
        "send_failures": {"rate_overlimit": 2, "reachout_timelock": 1, "other": 0},
        "reconnects": {"child_crash": 1, "disconnected": 4},
        "keepalive_timeouts": 5,
        "history": {"delete_reposted": 6, "edit_reposted": 0, "unknown": 2, "limited": 0, "foreign_edit": 0},
        "calls": {"rejected": 6, "reject_failed": 0},
    }
    assert s["counters"]["last_24h"] == {  # the row of 25 hours ago is outside the window
        "undecryptable": {"unavailable": 0, "failed": 7},
        "send_failures": {"rate_overlimit": 0, "reachout_timelock": 0, "other": 1},
        "keepalive_timeouts": 2,
        "history": {"delete_reposted": 0, "edit_reposted": 0, "unknown": 0, "limited": 0, "foreign_edit": 0},
        "calls": {"rejected": 0, "reject_failed": 0},
    }
    assert s["counters"]["undecryptable_after_restore"] == {
        "watched": True,
        "restored_at": (NOW - timedelta(minutes=50)).isoformat(),
        "source": "backup",
        "threshold": 10,
        "minutes": 30,
        "alert": True,
        "alerted_at": (NOW - timedelta(minutes=46)).isoformat(),
        "count": 11,
    }
    assert s["inbox"] == {"depth": 3, "dropped": 1}


def test_metrics_export_each_count_under_its_kind_and_reason(client: Client, at_now) -> None:
    worker_rows(alert=True)
    got = samples(client)
    one = (("session", "default"),)
    for kind, n in (("failed", 12), ("unavailable", 3)):
        assert got[("blacksky_undecryptable_messages_total", (("kind", kind), *one))] == n
    for kind, n in (("rate_overlimit", 2), ("reachout_timelock", 1), ("other", 0)):
        assert got[("blacksky_send_failures_total", (("kind", kind), *one))] == n
    for reason, n in (("child_crash", 1), ("disconnected", 4)):
        assert got[("blacksky_reconnects_total", (("reason", reason), *one))] == n
    assert got[("blacksky_keepalive_timeouts_total", one)] == 5
    assert got[("blacksky_history_events_total", (("kind", "delete_reposted"), *one))] == 6
    assert got[("blacksky_history_events_total", (("kind", "edit_reposted"), *one))] == 0
    assert got[("blacksky_calls_total", (("outcome", "rejected"), *one))] == 6
    assert got[("blacksky_calls_total", (("outcome", "reject_failed"), *one))] == 0
    assert got[("blacksky_inbox_depth", one)] == 3
    assert got[("blacksky_outbox_queued", one)] == 0  # the outbox's depth and age come from its table
    assert got[("blacksky_undecryptable_after_restore_alert", one)] == 1


def test_a_session_that_counted_nothing_exports_zeros_for_every_known_kind(client: Client, at_now) -> None:
    worker_rows(counts={})
    got = samples(client)
    one = (("session", "default"),)
    assert got[("blacksky_undecryptable_messages_total", (("kind", "failed"), *one))] == 0
    assert got[("blacksky_send_failures_total", (("kind", "reachout_timelock"), *one))] == 0
    assert got[("blacksky_keepalive_timeouts_total", one)] == 0
    assert got[("blacksky_undecryptable_after_restore_alert", one)] == 0
    assert not [key for key in got if key[0] == "blacksky_reconnects_total"]


@pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"),
    reason="promtool (Debian package prometheus) not installed here; CI installs it",
)
def test_promtool_accepts_every_series(client: Client, at_now) -> None:
    worker_rows(alert=True)
    text = client.get("/metrics", headers=AUTH).content
    assert b"blacksky_undecryptable_messages_total" in text and b"blacksky_inbox_depth" in text
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
