"""Liveness and the primary phone on /stats, /metrics, /healthz and the dashboard, from real rows."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from bot.models import BotStatus, PhoneWatch

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 30, 20, tzinfo=UTC)
TOKEN = "stats-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def beat(**detail: object) -> dict:
    return {
        "liveness_ok_ago": 40.0,
        "liveness_failures": 0,
        "liveness_sent": 12,
        "liveness_answered": 11,
        "liveness_unanswered": 1,
        "liveness_rtt_ms": 180.5,
        "liveness_interval": 900.0,
        "liveness_deaf_after": 3,
        "inbound_ago": 3.0,
        "message_ago": 95.0,
        **detail,
    }


@pytest.fixture
def at_now(settings):
    settings.STATS_TOKEN = TOKEN
    settings.LIVENESS_INTERVAL, settings.LIVENESS_TIMEOUT, settings.LIVENESS_FAILURES = 15, 30, 3
    with time_machine.travel(NOW, tick=False):
        yield


def status(detail: dict, *, state: str = "connected") -> BotStatus:
    return BotStatus.objects.create(
        session_name="default",
        state=state,
        last_heartbeat_at=NOW - timedelta(seconds=10),  # ages are the beat's plus its own age
        connected_since=NOW - timedelta(hours=5),
        detail=detail,
    )


def test_stats_carry_the_liveness_and_the_phone_s_age(client: Client, at_now) -> None:
    status(beat())
    PhoneWatch.objects.create(
        session_name="default", last_seen_at=NOW - timedelta(days=11), last_seen_how="receipt", warned_days=10
    )
    (s,) = client.get("/stats", headers=AUTH).json()["sessions"]
    assert s["liveness"] == {
        "watched": True,
        "last_ok_age_seconds": 50.0,
        "unanswered_in_a_row": 0,
        "sent": 12,
        "answered": 11,
        "unanswered": 1,
        "round_trip_ms": 180.5,
        "last_inbound_age_seconds": 13.0,
        "last_message_age_seconds": 105.0,
        "problem": "",
    }
    assert s["primary_phone"] == {
        "last_seen_age_seconds": 11 * 86400.0,
        "last_seen_how": "receipt",
        "ever_seen": True,
        "warned_days": 10,
        "unlink_in_days": 3.0,
    }


def samples(text: str) -> dict:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_carry_every_new_series(client: Client, at_now) -> None:
    status(beat())
    PhoneWatch.objects.create(session_name="default", last_seen_at=NOW - timedelta(hours=2))
    text = client.get("/metrics", headers=AUTH).content.decode()
    got = samples(text)
    one = (("session", "default"),)
    assert got[("blacksky_liveness_last_ok_seconds", one)] == 50.0
    assert got[("blacksky_last_inbound_seconds", one)] == 13.0
    assert got[("blacksky_last_inbound_message_seconds", one)] == 105.0
    assert got[("blacksky_liveness_unanswered_in_a_row", one)] == 0
    assert got[("blacksky_liveness_round_trips_total", (("outcome", "answered"), ("session", "default")))] == 11
    assert got[("blacksky_primary_phone_last_seen_seconds", one)] == 7200.0


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) not installed")
def test_promtool_accepts_the_metrics(client: Client, at_now) -> None:
    status(beat())
    PhoneWatch.objects.create(session_name="default", last_seen_at=NOW - timedelta(hours=2))
    text = client.get("/metrics", headers=AUTH).content
    done = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_a_deaf_bot_fails_the_health_check_with_the_reason(client: Client, at_now) -> None:
    status(beat(liveness_failures=3))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "connected but WhatsApp does not answer (3 round trips unanswered)" in response.content.decode()


def test_a_stale_answer_fails_the_health_check_and_a_fresh_one_passes(client: Client, at_now) -> None:
    row = status(beat(liveness_ok_ago=2000.0))  # limit: 15 min + 3 x 30 s + 60 s = 1050 s
    response = client.get("/healthz")
    assert response.status_code == 503 and "no answer from WhatsApp for 2010s (limit 1050s)" in response.content.decode()
    row.detail = beat()
    row.save()
    assert client.get("/healthz").status_code == 200


def test_a_bot_without_a_round_trip_is_judged_by_its_heartbeat_alone(client: Client, at_now) -> None:
    status({"queued": 0})  # the console transport: no liveness fields in its beats
    assert client.get("/healthz").status_code == 200
    (s,) = client.get("/stats", headers=AUTH).json()["sessions"]
    assert s["liveness"]["watched"] is False and s["liveness"]["problem"] == ""
    got = samples(client.get("/metrics", headers=AUTH).content.decode())
    assert not [name for name, _ in got if name.startswith(("blacksky_liveness", "blacksky_last_inbound"))]


def test_the_dashboard_has_the_liveness_and_phone_cards(client: Client, at_now) -> None:
    status(beat())
    client.force_login(get_user_model().objects.create_user("ops", password="pw", is_staff=True))
    html = client.get("/dashboard/").content.decode()
    assert 'data-field="liveness"' in html and 'data-field="phone_age"' in html
    assert '"last_ok_age_seconds": 50.0' in html
