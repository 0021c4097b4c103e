"""/healthz, /stats, /metrics, /dashboard/ and /pair/: the numbers they show (who may see them: test_guards)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from bot.models import (
    BotStatus,
    ConnectionEvent,
    ConnectionState,
    ControlCommand,
    MessageStat,
    WebhookDelivery,
)
from ops.selectors.stats import session_stats, stats_snapshot
from ops.stats_cache import STATS_CACHE_SECONDS, StatsCache, stats_cache
from sessions_store.models import PairingCode, SessionBackup, SessionLease, WhatsAppSession
from tests.support.events import reconnect_recorded
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 30, 20, tzinfo=UTC)
TOKEN = "stats-token-for-tests-0123456789"
MB = 1024 * 1024


@pytest.fixture
def token(settings) -> str:
    settings.STATS_TOKEN = TOKEN
    return TOKEN


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(operator("ops", "sessions_store.pair_session"))
    return client


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def make_status(**overrides) -> BotStatus:
    values = {
        "session_name": "default",
        "state": "connected",
        "state_since": NOW - timedelta(hours=2),
        "last_heartbeat_at": NOW - timedelta(seconds=5),
        "process_started_at": NOW - timedelta(hours=3),
        "connected_since": NOW - timedelta(hours=2),
        "host": "worker.1",
        "pid": 4242,
        "rss_bytes": 200 * MB,
        "messages_in": 1234,
        "messages_out": 987,
        "child_restarts": 1,
    }
    values.update(overrides)
    return BotStatus.objects.create(**values)


def minute(offset: int) -> datetime:
    """The start of the minute `offset` minutes before the current (partial) one."""
    return NOW.replace(second=0, microsecond=0) - timedelta(minutes=offset)


def seed_history() -> WhatsAppSession:
    make_status()
    session = WhatsAppSession.objects.create(name="default", status="paired", jid="15550001111:3@s.whatsapp.net")
    # Minute buckets: the current partial minute (ignored by rates), then 1, 3 and 30 minutes ago.
    rows = [
        (0, 100, 100, {"ping": 50}, 210),
        (1, 12, 6, {"ping": 2, "menu": 1}, 200),
        (3, 8, 4, {"menu": 3}, 190),
        (30, 40, 20, {"hug": 7}, 180),
        (60 * 5, 5, 5, {"hug": 1}, 150),  # 5 hours ago: in the 24 h figures, not in the rates
        (60 * 30, 999, 999, {"old": 99}, 500),  # 30 hours ago: outside every window
    ]
    for offset, m_in, m_out, by_command, rss_mb in rows:
        MessageStat.objects.create(
            session_name="default",
            bucket=minute(offset),
            messages_in=m_in,
            messages_out=m_out,
            commands=sum(by_command.values()),
            by_command=by_command,
            rss_max_bytes=rss_mb * MB,
        )
    for hours_ago, reason, outcome in [
        (1, "keepalive_timeout", "succeeded"),
        (2, "stream_error", "failed"),
        (3, "stream_error", "succeeded"),
        (30, "memory", "succeeded"),
    ]:
        reconnect_recorded(
            session_name="default",
            at=NOW - timedelta(hours=hours_ago),
            attempt=1,
            delay_seconds=1.5,
            reason=reason,
            outcome=outcome,
        )
    ConnectionEvent.objects.create(
        session_name="default",
        at=NOW - timedelta(hours=2),
        from_state="reconnecting",
        to_state="connected",
        reason="reconnected",
    )
    for hours_ago, state in [(1, "verified"), (5, "verified"), (6, "failed")]:
        SessionBackup.objects.create(
            session=session, created_at=NOW - timedelta(hours=hours_ago), reason="scheduled", state=state
        )
    WebhookDelivery.objects.create(session_name="default", at=NOW - timedelta(hours=1), ok=True, attempts=1)
    WebhookDelivery.objects.create(
        session_name="default", at=NOW - timedelta(hours=2), ok=False, attempts=4, status_code=500, error="HTTP 500"
    )
    WebhookDelivery.objects.create(session_name="default", at=NOW - timedelta(days=3), ok=False, attempts=4)
    SessionLease.objects.create(
        session=session,
        holder="worker.1:4242:abcd",
        fencing=3,
        renewed_at=NOW - timedelta(seconds=3),
        expires_at=NOW + timedelta(seconds=27),
    )
    return session


# --- /healthz --------------------------------------------------------------------------------


def test_healthz_is_ok_when_connected_with_a_fresh_heartbeat(client: Client, frozen) -> None:
    make_status()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "sessions": {"default": "ok"}}


def test_healthz_answers_head_requests_of_uptime_monitors(client: Client, frozen) -> None:
    assert client.head("/healthz").status_code == 503
    make_status()
    assert client.head("/healthz").status_code == 200


def test_healthz_is_503_before_any_bot_reported(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == "no bot has reported a heartbeat yet"


def test_healthz_is_503_with_a_stale_heartbeat(client: Client, frozen, settings) -> None:
    settings.HEARTBEAT_TIMEOUT = 60
    make_status(last_heartbeat_at=NOW - timedelta(seconds=61))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == "session default: heartbeat stale for 61s (limit 60s)"


@pytest.mark.parametrize("state", [state for state in ConnectionState.values if state != "connected"])
def test_healthz_is_503_when_not_connected(client: Client, frozen, state: str) -> None:
    make_status(state=state)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == f"session default: state is {state}"


def test_healthz_names_every_unhealthy_session(client: Client, frozen) -> None:
    make_status()
    make_status(session_name="second", last_heartbeat_at=None)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["sessions"] == {"default": "ok", "second": "no heartbeat yet"}


def test_healthz_is_503_when_the_database_is_down(client: Client, monkeypatch) -> None:
    from django.db import OperationalError

    def broken(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("ops.views.health_check", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["reason"] == "database"


@pytest.mark.parametrize("url", ["/stats", "/metrics"])
def test_stats_and_metrics_are_503_when_the_database_is_down(client: Client, token: str, monkeypatch, url) -> None:
    from django.db import OperationalError

    def broken():
        raise OperationalError("connection refused")

    monkeypatch.setattr("ops.stats_cache.stats_snapshot", broken)
    response = client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 503
    assert response.json() == {"error": "database unavailable: OperationalError"}


def test_healthz_live_answers_without_a_bot(client: Client) -> None:
    assert client.get("/healthz?live=1").json() == {"status": "ok", "check": "live"}


def test_healthz_is_cheap(client: Client, frozen, django_assert_max_num_queries) -> None:
    make_status()
    with django_assert_max_num_queries(1):
        assert client.get("/healthz").status_code == 200


# --- /stats figures ------------------------------------------------------------------------


def test_stats_reports_state_uptime_rates_and_commands(client: Client, token: str, frozen) -> None:
    seed_history()
    data = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert data["memory_limit_mb"] == 512
    (s,) = data["sessions"]
    assert s["session"] == "default"
    assert s["state"] == "connected"
    assert s["heartbeat_age_seconds"] == 5.0 and s["heartbeat_fresh"] is True
    assert s["process_uptime_seconds"] == 3 * 3600
    assert s["connection_uptime_seconds"] == 2 * 3600
    assert s["messages"]["total_in"] == 1234 and s["messages"]["total_out"] == 987
    rate = s["messages"]["rate"]
    # complete minutes only: 1m = the minute before this one; 5m adds 3 minutes ago; 1h adds 30 minutes ago
    assert rate["1m"] == {"messages_in": 12, "messages_out": 6, "in_per_minute": 12.0, "out_per_minute": 6.0}
    assert rate["5m"]["messages_in"] == 20 and rate["5m"]["in_per_minute"] == 4.0
    assert rate["1h"]["messages_in"] == 60 and rate["1h"]["in_per_minute"] == 1.0
    # 24 h includes the current minute and 5 hours ago, not 30 hours ago
    assert s["top_commands_24h"] == [
        {"name": "ping", "count": 52},
        {"name": "hug", "count": 8},
        {"name": "menu", "count": 4},
    ]


def test_stats_reports_memory_now_and_its_24h_trend(client: Client, token: str, frozen) -> None:
    seed_history()
    s = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["sessions"][0]
    memory = s["memory"]
    assert memory["rss_bytes"] == 200 * MB and memory["rss_mb"] == 200.0
    assert memory["limit_mb"] == 512
    assert memory["percent_of_limit"] == round(100 * 200 / 512, 1)
    assert memory["peak_24h_bytes"] == 210 * MB  # the 30-hour-old 500 MB is out of the window
    hours = s["series"]["hours"]
    assert len(hours["t"]) == 24
    assert hours["t"][-1] == int(NOW.replace(minute=0, second=0).timestamp())
    assert hours["rss_max_bytes"][-1] == 210 * MB  # this hour: max of 210, 200, 190, 180 (12:00..12:30)
    assert hours["rss_max_bytes"][-6] == 150 * MB  # 5 hours ago
    assert hours["rss_max_bytes"][0] is None  # no sample: a gap, not zero
    assert memory["trend_mb_per_hour"] == 12.0  # 150 MB at hour 18, 210 MB at hour 23
    minutes = s["series"]["minutes"]
    assert len(minutes["t"]) == 60 and minutes["in"][-1] == 12 and minutes["in"][-30] == 40


def test_stats_reports_reconnects_backups_webhooks_and_lease(client: Client, token: str, frozen) -> None:
    seed_history()
    s = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["sessions"][0]
    reconnects = s["reconnects"]
    assert reconnects["last_24h_total"] == 3
    assert reconnects["last_24h_by_reason"] == {"keepalive_timeout": 1, "stream_error": 2}
    assert [r["reason"] for r in reconnects["last"]] == ["keepalive_timeout", "stream_error", "stream_error", "memory"]
    assert s["series"]["hours"]["reconnects"][-2:] == [1, 0]  # 11:30 falls in the 11:00 hour
    assert s["backups"]["newest_verified_age_seconds"] == 3600.0
    assert s["backups"]["by_state"] == {"failed": 1, "verified": 2}
    # An unchanged store's scheduled run re-verifies the newest backup: the age follows verified_at.
    SessionBackup.objects.filter(state="verified").order_by("-created_at").update(
        verified_at=NOW - timedelta(minutes=5)
    )
    fresh = session_stats(session_name="default", now=NOW)
    assert fresh["backups"]["newest_verified_age_seconds"] == 300.0
    assert s["webhooks"]["deliveries_24h"] == 2 and s["webhooks"]["failures_24h"] == 1
    assert s["webhooks"]["last_failure"]["status_code"] == 500
    assert s["lease"] == {
        "holder": "worker.1:4242:abcd",
        "held": True,
        "fencing": 3,
        "renewed_at": (NOW - timedelta(seconds=3)).isoformat(),
        "expires_at": (NOW + timedelta(seconds=27)).isoformat(),
    }
    assert s["connection_events"][0]["to_state"] == "connected"


def test_stats_lists_a_paired_session_that_has_not_reported_yet(client: Client, token: str) -> None:
    WhatsAppSession.objects.create(name="second")
    (s,) = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["sessions"]
    assert s["session"] == "second" and s["state"] is None and s["heartbeat_fresh"] is False


def test_stats_is_cached_for_a_few_seconds(client: Client, token: str, monkeypatch) -> None:
    clock = {"now": 1000.0}
    monkeypatch.setattr(stats_cache, "clock", lambda: clock["now"])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    make_status()
    first = client.get("/stats", headers=auth).json()
    BotStatus.objects.filter(session_name="default").update(messages_in=99999)
    clock["now"] += STATS_CACHE_SECONDS - 0.1
    assert client.get("/stats", headers=auth).json() == first
    clock["now"] += 0.2
    assert client.get("/stats", headers=auth).json()["sessions"][0]["messages"]["total_in"] == 99999


def test_a_stale_copy_is_served_while_another_thread_refreshes(monkeypatch) -> None:
    clock = {"now": 1000.0}
    cache = StatsCache(ttl=5, max_stale=30, clock=lambda: clock["now"])
    make_status(messages_in=1)
    first = cache.get()
    BotStatus.objects.update(messages_in=2)
    clock["now"] += 6
    with cache._lock:  # another thread is refreshing right now
        assert cache.get() is first
    assert cache.get().snapshot["sessions"][0]["messages"]["total_in"] == 2  # refreshed once free
    BotStatus.objects.update(messages_in=3)
    clock["now"] += 31  # too old to serve: wait for a fresh copy even though the refresh lock is free
    assert cache.get().snapshot["sessions"][0]["messages"]["total_in"] == 3


def test_stats_query_count_does_not_grow_with_history(frozen, django_assert_num_queries) -> None:
    seed_history()
    with CaptureQueriesContext(connection) as small:
        stats_snapshot()
    for day in range(2, 31):
        reconnect_recorded(
            session_name="default", at=NOW - timedelta(days=day), attempt=1, delay_seconds=1, reason="old"
        )
        MessageStat.objects.create(
            session_name="default", bucket=minute(60 * 24 * day), resolution="hour", messages_in=5
        )
    with django_assert_num_queries(len(small.captured_queries)):
        stats_snapshot()


# --- /metrics --------------------------------------------------------------------------------


def test_metrics_parse_as_prometheus_text_with_the_figures(client: Client, token: str, frozen) -> None:
    seed_history()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.content.decode())}

    def value(name: str, **labels) -> float:
        for sample in families[name].samples:
            if all(sample.labels.get(k) == v for k, v in labels.items()) and not sample.name.endswith("_created"):
                return sample.value
        raise AssertionError(f"no sample {name} {labels}")

    assert value("blacksky_connection_state", session="default", state="connected") == 1
    assert value("blacksky_connection_state", session="default", state="reconnecting") == 0
    assert value("blacksky_bot_up", session="default") == 1
    assert value("blacksky_connection_uptime_seconds", session="default") == 7200
    assert value("blacksky_rss_bytes", session="default") == 200 * MB
    assert value("blacksky_memory_limit_bytes") == 512 * MB
    assert value("blacksky_messages_in", session="default") == 1234
    assert families["blacksky_messages_in"].type == "counter"
    assert value("blacksky_commands_24h", session="default", command="ping") == 52
    assert value("blacksky_reconnects_24h", session="default", reason="stream_error") == 2
    assert value("blacksky_backups", session="default", state="verified") == 2
    assert value("blacksky_webhook_failures_24h", session="default") == 1
    assert value("blacksky_messages_in_per_minute", session="default", window="5m") == 4.0


# --- /dashboard/ and /pair/ ------------------------------------------------------------------


def test_dashboard_embeds_the_figures_and_loads_charts_from_our_static_files(staff_client: Client, frozen) -> None:
    seed_history()
    response = staff_client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="stats-data"' in html and '"session": "default"' in html
    assert "/static/vendor/uplot/uPlot.iife.min.js" in html
    assert "/static/js/dashboard.js" in html
    assert "http://" not in html.split("<main>")[1] and "https://" not in html.split("<main>")[1]
    assert staff_client.get("/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert 'href="/pair/"' in html


def test_dashboard_before_any_bot_reported_says_how_to_start_one(staff_client: Client) -> None:
    response = staff_client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="no-sessions"' in html and "python manage.py runbot" in html
    assert '"sessions": []' in html


def test_pair_without_any_session_offers_a_fresh_qr(staff_client: Client) -> None:
    html = staff_client.get("/pair/").content.decode()
    assert 'id="no-code"' in html and 'id="refresh-qr"' in html and "<code>default</code>" in html


def test_pair_shows_the_newest_unexpired_qr_as_svg(staff_client: Client, frozen) -> None:
    session = WhatsAppSession.objects.create(name="default", status="pairing")
    make_status(state="pairing")
    PairingCode.objects.create(session=session, kind="qr", code="2@old,qr", expires_at=NOW - timedelta(seconds=1))
    PairingCode.objects.create(
        session=session, kind="qr", code="2@fresh,qr", created_at=NOW, expires_at=NOW + timedelta(seconds=20)
    )
    response = staff_client.get("/pair/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<svg" in html and 'id="qr"' in html
    assert "pairing" in html
    assert 'http-equiv="refresh"' in html
    assert html.count("<svg") == 1  # only the fresh code is drawn
    assert "Scan with WhatsApp" in html


def test_pair_shows_a_phone_code_as_text(staff_client: Client, frozen) -> None:
    session = WhatsAppSession.objects.create(name="default", status="pairing")
    PairingCode.objects.create(
        session=session, kind="phone_code", code="ABCD-EFGH", expires_at=NOW + timedelta(minutes=2)
    )
    html = staff_client.get("/pair/").content.decode()
    assert "ABCD-EFGH" in html and "<svg" not in html


def test_pair_says_paired_and_stops_refreshing_when_paired(staff_client: Client, frozen) -> None:
    WhatsAppSession.objects.create(name="default", status="paired", paired_at=NOW - timedelta(days=1))
    html = staff_client.get("/pair/").content.decode()
    assert 'id="paired"' in html
    assert 'http-equiv="refresh"' not in html


def test_pair_button_asks_the_bot_for_a_fresh_qr_through_the_control_table(staff_client: Client) -> None:
    WhatsAppSession.objects.create(name="default", status="pairing")
    staff_client.get("/pair/")
    response = staff_client.post("/pair/", {"session": "default"})
    assert response.status_code == 302
    assert response["Location"] == "/pair/?session=default"
    command = ControlCommand.objects.get()
    assert (command.session_name, command.action, command.state) == ("default", "refresh_qr", "pending")
    assert command.requested_by.username == "ops"
    follow = staff_client.get(response["Location"]).content.decode()
    assert "Asked the bot for a fresh QR" in follow and "pending" in follow


def test_pair_post_needs_a_csrf_token() -> None:
    user = operator("ops2", "sessions_store.pair_session")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/pair/", {"session": "default"}).status_code == 403
    assert ControlCommand.objects.count() == 0


def test_stats_reports_the_writes_a_database_outage_cost(client: Client, token: str, frozen) -> None:
    make_status(detail={"db_lost": 7, "db_down": False})  # as the supervisor writes the child's beat
    make_status(session_name="other")
    data = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    lost = {s["session"]: s["database_writes_lost"] for s in data["sessions"]}
    assert lost == {"default": 7, "other": 0}
