"""What goes wrong, counted: real neonize protobuf events through the transport seam into the child's
collector, its minute rows and its beat, the supervisor's running total, and /stats and /metrics."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from types import SimpleNamespace

import pytest
from django.db import OperationalError

pytest.importorskip("neonize")

from django.test import Client  # noqa: E402
from neonize.events import (  # noqa: E402
    ConnectedEv,
    DisconnectedEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bot import outbox  # noqa: E402
from bot.backoff import BackoffPolicy  # noqa: E402
from bot.child.connection import ConnectionMachine  # noqa: E402
from bot.child.runtime import BotRuntime  # noqa: E402
from bot.child.sending import OutboxSender  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.dispatch.outbound import Outbound  # noqa: E402
from bot.dispatch.stats import StatsCollector  # noqa: E402
from bot.heartbeat import Beat, counts_add  # noqa: E402
from bot.models import ConnectionEvent, MessageStat, ReconnectEvent  # noqa: E402
from bot.transport.base import Reply  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from bot.transport.neonize.translate import send_error_kind  # noqa: E402
from tests.bot.fixtures.neonize_events import FakeGo, deliver, make_undecryptable_ev, stub_dial_transport  # noqa: E402
from tests.bot.test_supervisor_policy import Clock, attach, supervisor  # noqa: E402
from tests.support.routers import PingRouter  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SESSION = "policy"  # the supervisor harness's session
TOKEN = "stats-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ALICE = "15551234567@s.whatsapp.net"


@pytest.fixture(autouse=True)
def _no_cached_stats():
    """/stats is cached per process: each reading here is of this test's rows."""
    stats_cache_clear()
    yield
    stats_cache_clear()


def machine() -> ConnectionMachine:
    return ConnectionMachine(policy=BackoffPolicy(base=0.01, cap=0.05, max_attempts=5, jitter=lambda c: c))


def run(runtime: BotRuntime) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    return thread, out


def wait_for(predicate, timeout: float = 5.0) -> None:
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        try:
            if predicate():
                return
        except OperationalError:  # SQLite's shared in-memory test database: a table the runtime writes is locked
            pass
        pause.wait(0.01)
    raise AssertionError("condition not reached in time")


def connected_runtime(tmp_path) -> tuple[BotRuntime, threading.Thread, object]:
    transport = stub_dial_transport(session_name=SESSION, dsn=str(tmp_path / "never.sqlite3"))
    runtime = BotRuntime(transport=transport, session_name=SESSION, router=PingRouter(), machine=machine())
    thread, _ = run(runtime)
    wait_for(lambda: ConnectionEvent.objects.filter(session_name=SESSION, to_state="connected").exists())
    return runtime, thread, transport


def minute_counts() -> Counter[str]:
    total: Counter[str] = Counter()
    for counts in MessageStat.objects.filter(session_name=SESSION).values_list("counts", flat=True):
        total.update(counts)
    return total


def samples(client: Client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics", headers=AUTH).content.decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


# -- the child: through the seam --------------------------------------------------------------------------
def test_undecryptable_messages_are_counted_by_kind_and_change_no_state(tmp_path):
    runtime, thread, transport = connected_runtime(tmp_path)
    for n in range(3):
        deliver(transport.client, make_undecryptable_ev(unavailable=False, msg_id=f"3EB0FAIL{n}"))
    for n in range(2):
        deliver(transport.client, make_undecryptable_ev(unavailable=True, msg_id=f"3EB0GONE{n}", hide=True))
    expected = {"undecryptable:failed": 3, "undecryptable:unavailable": 2}
    wait_for(lambda: runtime.stats.counts_total() == expected)
    assert runtime.beat().detail["counts"] == expected
    runtime.request_stop()
    thread.join(10)
    assert minute_counts() == expected  # flushed into the minute rows, as the message counts are
    assert runtime.stats.totals.messages_in == 0  # nothing reached the router
    states = list(ConnectionEvent.objects.filter(session_name=SESSION).order_by("at", "pk").values_list("to_state"))
    assert [s for (s,) in states] == ["connecting", "connected", "stopped"]


def test_keepalive_timeouts_and_reconnects_are_counted_as_their_reconnect_rows_say(tmp_path):
    runtime, thread, transport = connected_runtime(tmp_path)
    for ev in (
        KeepAliveTimeoutEv(ErrorCount=1, LastSuccess=1764331200),
        KeepAliveTimeoutEv(ErrorCount=2, LastSuccess=1764331200),  # still reconnecting: a timeout, no new attempt
        KeepAliveRestoredEv(),
        DisconnectedEv(status=True),
        ConnectedEv(status=True),
    ):
        deliver(transport.client, ev)
    wait_for(lambda: ReconnectEvent.objects.filter(session_name=SESSION, outcome="succeeded").exists())
    runtime.request_stop()
    thread.join(10)
    counts = runtime.stats.counts_total()
    # whatsmeow recovers a keepalive by itself (no attempt of ours, no row); a disconnect opens one
    assert counts == {"keepalive_timeout": 2, "reconnect:disconnected": 1}
    rows = Counter(ReconnectEvent.objects.filter(session_name=SESSION).values_list("reason", flat=True))
    assert {f"reconnect:{reason}": n for reason, n in rows.items()} == {
        k: v for k, v in counts.items() if k.startswith("reconnect:")
    }
    assert minute_counts() == counts


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ("info query returned status 429: rate-overlimit", "rate_overlimit"),
        ("server returned error 463", "reachout_timelock"),
        ("failed to get device list: reachout timelock", "reachout_timelock"),
        ("websocket not connected", "other"),
        ("server returned error 479", "other"),
        ("message 3EB04290 refused", "other"),  # a 429 inside an id is no rate limit
    ],
)
def test_each_send_error_has_its_kind(error, kind):
    assert send_error_kind(error) == kind


def test_refused_sends_are_counted_by_kind_through_the_real_transport(tmp_path):
    transport = NeonizeTransport(session_name=SESSION, dsn=str(tmp_path / "never.sqlite3"))
    go = FakeGo()
    transport.client._NewClient__client = go
    outbound = Outbound(transport=transport, session_name=SESSION, pacing=PacingConfig(enabled=False))
    stats = StatsCollector(session_name=SESSION)
    sender = OutboxSender(session_name=SESSION, outbound=outbound, stats=stats)
    for n, error in enumerate(
        ["info query returned status 429: rate-overlimit", "server returned error 463", "websocket not connected"]
    ):
        go.send_error = error
        outbox.outbox_enqueue(session_name=SESSION, replies=[Reply(kind="text", chat=f"1555000000{n}@s.whatsapp.net")])
        assert sender.step()
        outbound.resume()  # a restricted error pauses sending: the next try is another case, not a wait
    go.send_error = ""
    outbox.outbox_enqueue(session_name=SESSION, replies=[Reply(kind="text", chat=ALICE, text="hi")])
    assert sender.step()
    assert stats.counts_total() == {
        "send_failure:rate_overlimit": 1,
        "send_failure:reachout_timelock": 1,
        "send_failure:other": 1,
    }
    assert stats.totals.messages_out == 1 and len(go.sent) == 1


# -- the supervisor's running total, /stats and /metrics -----------------------------------------------------
def test_counts_add_up_across_children_and_reach_stats_and_metrics_as_counted(tmp_path, settings, client):
    settings.STATS_TOKEN = TOKEN
    runtime, thread, transport = connected_runtime(tmp_path)
    for n in range(4):
        deliver(transport.client, make_undecryptable_ev(unavailable=False, msg_id=f"3EB0F{n}"))
    deliver(transport.client, make_undecryptable_ev(unavailable=True))
    deliver(transport.client, KeepAliveTimeoutEv(ErrorCount=1, LastSuccess=1764331200))
    deliver(transport.client, DisconnectedEv(status=True))
    deliver(transport.client, ConnectedEv(status=True))
    wait_for(lambda: ReconnectEvent.objects.filter(session_name=SESSION, outcome="succeeded").exists())
    first = runtime.beat()
    runtime.request_stop()
    thread.join(10)

    clock = Clock()
    sup = supervisor(clock, transport="neonize")
    attach(sup, clock)
    sup.on_beat(first)
    sup.write_heartbeat()
    sup._record_restart_attempt("crash", 1.0)  # the supervisor's own reconnect: a child restart
    sup.counts_child_started()  # the second child counts from 0 again
    sup.on_beat(Beat(pid=2, state="connected", detail={"counts": {"undecryptable:failed": 2}, "queued": 7}))
    sup.write_heartbeat()

    (s,) = client.get("/stats", headers=AUTH).json()["sessions"]
    assert_counted(
        s["counters"]["total"],
        {
            "undecryptable": {"unavailable": 1, "failed": 6},
            "send_failures": {"rate_overlimit": 0, "reachout_timelock": 0, "other": 0},
            "reconnects": {"child_crash": 1, "disconnected": 1},
            "keepalive_timeouts": 1,
        },
    )
    assert_counted(  # the first child's flushed minute rows
        s["counters"]["last_24h"],
        {
            "undecryptable": {"unavailable": 1, "failed": 4},
            "send_failures": {"rate_overlimit": 0, "reachout_timelock": 0, "other": 0},
            "keepalive_timeouts": 1,
        },
    )
    assert s["inbox"] == {"depth": 7, "dropped": None}
    got = samples(client)
    one = (("session", SESSION),)
    assert got[("blacksky_undecryptable_messages_total", (("kind", "failed"), *one))] == 6
    assert got[("blacksky_undecryptable_messages_total", (("kind", "unavailable"), *one))] == 1
    for kind in ("rate_overlimit", "reachout_timelock", "other"):
        assert got[("blacksky_send_failures_total", (("kind", kind), *one))] == 0
    assert got[("blacksky_reconnects_total", (("reason", "child_crash"), *one))] == 1
    assert got[("blacksky_reconnects_total", (("reason", "disconnected"), *one))] == 1
    assert got[("blacksky_keepalive_timeouts_total", one)] == 1
    assert got[("blacksky_inbox_depth", one)] == 7
    assert got[("blacksky_undecryptable_after_restore_alert", one)] == 0


def assert_counted(figures: dict, expected: dict) -> None:
    """These sections as expected, and every other section (other features' counters) at zero: nothing else happened."""
    assert {key: figures.get(key) for key in expected} == expected
    for key, value in figures.items():
        if key not in expected:
            assert not any(value.values()) if isinstance(value, dict) else not value, (key, value)


def test_a_beat_s_counts_are_added_only_when_they_are_counts():
    assert counts_add({"a": 1}, {"a": 2, "b": 1, "c": "3", "d": True, "e": -4, 5: 1}) == {"a": 3, "b": 1}
    assert counts_add({"a": 1}, None) == {"a": 1}


# -- the stale-store alert ------------------------------------------------------------------------------------
class Webhooks:
    """Records the alerts (the state changes of the restore go through it too, and are left out)."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def notify(self, **event) -> bool:
        if event["from_state"] == event["to_state"]:
            self.sent.append(event)
        return True


def failed_beat(n: int) -> Beat:
    return Beat(
        pid=2, state="connected", detail={"counts": {"undecryptable:failed": n, "undecryptable:unavailable": 50}}
    )


def restored_supervisor(settings, clock: Clock, monkeypatch, *, source: str = "backup"):
    settings.UNDECRYPTABLE_ALERT_COUNT, settings.UNDECRYPTABLE_ALERT_MINUTES = 10, 30
    sup = supervisor(clock, transport="neonize")
    sup.webhooks = Webhooks()
    outcome = SimpleNamespace(
        source=source, needs_pairing=False, detail="", stale_store=None, backup_id=None, device_jid=""
    )
    monkeypatch.setattr("bot.supervisor.session.session_restore_chain", lambda **kwargs: outcome)
    type(sup).restore(sup)  # the real restore step (the harness stubs it): it records the origin and arms the watch
    attach(sup, clock)
    return sup


def test_failed_decryptions_past_the_threshold_right_after_a_restore_alert_once(
    tmp_path, settings, client, caplog, monkeypatch
):
    settings.STATS_TOKEN = TOKEN
    clock = Clock()
    sup = restored_supervisor(settings, clock, monkeypatch)
    caplog.set_level(logging.INFO, logger="bot.supervisor.restore_watch")
    sup.on_beat(failed_beat(9))  # unavailable placeholders say nothing about our keys: not counted
    sup.write_heartbeat()
    assert not sup.webhooks.sent
    (s,) = client.get("/stats", headers=AUTH).json()["sessions"]
    watch = s["counters"]["undecryptable_after_restore"]
    assert (watch["watched"], watch["alert"], watch["source"], watch["threshold"]) == (True, False, "backup", 10)
    clock.now += 60
    for n in (10, 12):
        sup.on_beat(failed_beat(n))
        sup.write_heartbeat()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "the restored store may be stale" in warnings[0].getMessage()
    assert [e["reason"] for e in sup.webhooks.sent] == ["undecryptable_after_restore"]
    event = ConnectionEvent.objects.get(session_name=SESSION, reason="undecryptable_after_restore")
    assert (event.detail["count"], event.detail["source"], event.detail["seconds"]) == (10, "backup", 60.0)
    stats_cache_clear()
    (s,) = client.get("/stats", headers=AUTH).json()["sessions"]
    watch = s["counters"]["undecryptable_after_restore"]
    assert (watch["alert"], watch["count"]) == (True, 10)
    assert samples(client)[("blacksky_undecryptable_after_restore_alert", (("session", SESSION),))] == 1


def test_failed_decryptions_after_the_window_or_after_keeping_the_live_store_do_not_alert(settings, monkeypatch):
    clock = Clock()
    late = restored_supervisor(settings, clock, monkeypatch)
    clock.now += 30 * 60 + 1
    late.on_beat(failed_beat(50))
    late.write_heartbeat()
    kept = restored_supervisor(settings, clock, monkeypatch, source="live")
    kept.on_beat(failed_beat(50))
    kept.write_heartbeat()
    assert not late.webhooks.sent and not kept.webhooks.sent
    assert not ConnectionEvent.objects.filter(reason="undecryptable_after_restore").exists()


def stats_cache_clear() -> None:
    from ops.stats_cache import stats_cache

    stats_cache.clear()
