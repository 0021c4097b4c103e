"""The outbox on /stats, /metrics and the dashboard: depth, oldest queued age, what became of 24 h of replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from bot.models import BotStatus, OutboxItem

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 30, 20, tzinfo=UTC)
TOKEN = "stats-token-for-tests-0123456789"


@pytest.fixture
def seeded(settings):
    settings.STATS_TOKEN = TOKEN
    BotStatus.objects.create(session_name="default", state="connected", last_heartbeat_at=NOW)

    def item(state: str, age: timedelta) -> None:
        OutboxItem.objects.create(
            session_name="default",
            chat="1555@s.whatsapp.net",
            kind="text",
            content={"text": "x"},
            created_at=NOW - age,
            not_after=NOW - age + timedelta(minutes=10),
            state=state,
        )

    for seconds in (90, 30, 5):
        item("queued", timedelta(seconds=seconds))
    item("sent", timedelta(minutes=20))
    item("failed", timedelta(hours=2))
    item("expired", timedelta(hours=3))
    item("sent", timedelta(days=2))  # outside the 24 h window
    with time_machine.travel(NOW, tick=False):
        yield


def test_stats_report_the_depth_the_oldest_age_and_24_hours_by_state(client: Client, seeded) -> None:
    (s,) = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["sessions"]
    assert s["outbox"] == {
        "queued": 3,
        "oldest_queued_age_seconds": 90.0,
        "last_24h": {"queued": 3, "sent": 1, "failed": 1, "expired": 1, "discarded": 0},
    }


def test_metrics_carry_the_outbox_gauges(client: Client, seeded) -> None:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("blacksky_outbox_queued", (("session", "default"),))] == 3
    assert samples[("blacksky_outbox_oldest_queued_age_seconds", (("session", "default"),))] == 90
    assert samples[("blacksky_outbox_24h", (("session", "default"), ("state", "expired")))] == 1


def test_the_dashboard_has_an_outbox_card_fed_from_the_snapshot(client: Client, seeded) -> None:
    client.force_login(get_user_model().objects.create_user("ops", password="pw", is_staff=True))
    html = client.get("/dashboard/").content.decode()
    assert 'data-field="outbox_queued"' in html and '"oldest_queued_age_seconds": 90.0' in html
