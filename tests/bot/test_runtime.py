"""The bot child's runtime with in-memory transports: dispatch, stats, reconnects, shutdown."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from django.db import OperationalError

from bot.backoff import BackoffPolicy
from bot.child.connection import ConnectionMachine
from bot.child.runtime import BotRuntime
from bot.dispatch.stats import StatsCollector
from bot.heartbeat import ChildExit, Progress
from bot.models import ConnectionEvent, ConnectionState, MessageStat, ReconnectEvent
from bot.transport.base import ConnectionSignal, IncomingMessage, Reply, TransportError
from tests.support.memory_transport import MemoryTransport
from tests.support.routers import PingRouter, SimpleResult

pytestmark = pytest.mark.django_db(transaction=True)

USER = "15551234567@s.whatsapp.net"


def msg(text: str, n: int = 1) -> IncomingMessage:
    return IncomingMessage(id=f"M{n}", chat=USER, sender=USER, text=text)


def machine(max_attempts: int = 3) -> ConnectionMachine:
    return ConnectionMachine(policy=BackoffPolicy(base=0.01, cap=0.05, max_attempts=max_attempts, jitter=lambda c: c))


def start(runtime: BotRuntime) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    return thread, out


def wait_for(predicate, timeout: float = 5.0) -> None:
    event = threading.Event()
    deadline = timeout
    step = 0.01
    while not _holds(predicate):
        if deadline <= 0:
            raise AssertionError("condition not reached in time")
        event.wait(step)
        deadline -= step


def _holds(predicate) -> bool:
    """The predicate, read as 'not yet' while the runtime's thread holds the in-memory test database's
    write lock (shared-cache SQLite answers 'table is locked' at once instead of waiting as a file does)."""
    try:
        return bool(predicate())
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False


class FailingTransport(MemoryTransport):
    def connect(self) -> None:
        raise TransportError("failed to dial whatsapp web websocket: no such host")


def test_a_ping_gets_a_pong_and_the_counts_reach_message_stat():
    transport = MemoryTransport()
    runtime = BotRuntime(transport=transport, session_name="rt1", router=PingRouter(), machine=machine())
    thread, out = start(runtime)
    wait_for(lambda: transport.connected)
    transport.deliver(msg(".ping"))
    transport.deliver(msg("hello", 2))
    wait_for(lambda: len(transport.sent) == 1)
    runtime.request_stop()
    thread.join(10)
    assert out["code"] == ChildExit.DONE
    assert transport.sent[0].text.startswith("pong")
    assert transport.sent[0].reply_to == "M1"
    row = MessageStat.objects.get(session_name="rt1")
    assert (row.messages_in, row.messages_out, row.commands, row.by_command) == (2, 1, 1, {"ping": 1})
    states = list(
        ConnectionEvent.objects.filter(session_name="rt1").order_by("at", "pk").values_list("to_state", flat=True)
    )
    assert states == ["connecting", "connected", "stopped"]


def test_failed_dials_are_retried_with_growing_delays_then_a_fresh_child_is_asked_for():
    transport = FailingTransport()
    runtime = BotRuntime(transport=transport, session_name="rt2", router=PingRouter(), machine=machine(3))
    thread, out = start(runtime)
    thread.join(10)
    assert out["code"] == ChildExit.FRESH
    attempts = list(ReconnectEvent.objects.filter(session_name="rt2").order_by("attempt"))
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.delay_seconds for a in attempts] == [0.01, 0.02, 0.04]
    assert {a.outcome for a in attempts} == {"failed"}
    assert attempts[0].reason == "whatsapp_unreachable"


def test_a_logout_stops_for_good_and_never_reconnects():
    transport = MemoryTransport()
    terminal = []
    runtime = BotRuntime(
        transport=transport, session_name="rt3", router=PingRouter(), machine=machine(), on_terminal=terminal.append
    )
    thread, out = start(runtime)
    wait_for(lambda: transport.connected)
    transport.signal(ConnectionSignal(kind="logged_out", reason="logged_out"))
    thread.join(10)
    assert out["code"] == ChildExit.TERMINAL
    assert terminal[0].state == ConnectionState.LOGGED_OUT
    assert not ReconnectEvent.objects.filter(session_name="rt3").exists()
    last = ConnectionEvent.objects.filter(session_name="rt3").order_by("-at", "-pk").first()
    assert (last.from_state, last.to_state, last.reason) == ("connected", "logged_out", "logged_out_logged_out")


def test_a_disconnect_is_left_to_whatsmeow_and_its_success_closes_the_attempt():
    transport = MemoryTransport()
    runtime = BotRuntime(transport=transport, session_name="rt4", router=PingRouter(), machine=machine())
    thread, out = start(runtime)
    wait_for(lambda: transport.connected)
    transport.signal(ConnectionSignal(kind="disconnected"))
    transport.signal(ConnectionSignal(kind="connected"))
    wait_for(lambda: ReconnectEvent.objects.filter(session_name="rt4", outcome="succeeded").exists())
    runtime.request_stop()
    thread.join(10)
    attempt = ReconnectEvent.objects.get(session_name="rt4")
    assert (attempt.attempt, attempt.reason, attempt.delay_seconds) == (1, "disconnected", 0.0)


class GatedRouter:
    """Blocks inside the handler until the test opens the gate; the third message raises."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.gate = threading.Event()

    def handle(self, message: IncomingMessage) -> SimpleResult:
        if message.text == "boom":
            raise RuntimeError("handler bug")
        if message.text == "slow":
            self.entered.set()
            self.gate.wait(5)
        return SimpleResult(replies=[Reply(kind="text", chat=message.chat, text=f"done {message.text}")], command="x")


def test_shutdown_lets_the_handler_in_flight_finish_and_takes_no_new_message():
    transport = MemoryTransport()
    router = GatedRouter()
    runtime = BotRuntime(transport=transport, session_name="rt5", router=router, machine=machine(), workers=1)
    thread, out = start(runtime)
    wait_for(lambda: transport.connected)
    transport.deliver(msg("slow"))
    assert router.entered.wait(5)
    runtime.request_stop()
    transport.deliver(msg("late", 2))
    router.gate.set()
    thread.join(10)
    assert out["code"] == ChildExit.DONE
    assert [r.text for r in transport.sent] == ["done slow"]
    assert runtime.dropped == 1


def test_a_handler_that_raises_does_not_stop_the_loop():
    transport = MemoryTransport()
    stats = StatsCollector(session_name="rt6")
    runtime = BotRuntime(transport=transport, session_name="rt6", router=GatedRouter(), machine=machine(), stats=stats)
    thread, out = start(runtime)
    wait_for(lambda: transport.connected)
    transport.deliver(msg("boom"))
    transport.deliver(msg("next", 2))
    wait_for(lambda: len(transport.sent) == 1)
    runtime.request_stop()
    thread.join(10)
    assert transport.sent[0].text == "done next"
    assert stats.totals.errors == 1 and stats.totals.messages_in == 2


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_heartbeat_reports_a_stall_only_when_nothing_moves():
    transport = MemoryTransport()
    runtime = BotRuntime(transport=transport, session_name="rt7", router=PingRouter(), machine=machine())
    clock = FakeClock()
    runtime.progress = Progress(clock=clock)
    runtime.machine.begin(ConnectionState.CONNECTING)
    clock.now += 30
    assert runtime.beat().stalled_for == 30
    runtime._on_signal(ConnectionSignal(kind="qr", detail={"code": "2@x", "valid_for": 20.0}))
    clock.now += 26
    assert runtime.beat().stalled_for == 0  # a QR excuses its lifetime (and a margin)
    clock.now += 10
    assert runtime.beat().stalled_for == 10
    runtime.machine.state = ConnectionState.CONNECTED  # a healthy connection is progress
    assert runtime.beat().stalled_for == 0


def test_stats_flush_adds_to_the_same_minute_bucket():
    now = datetime(2026, 11, 28, 12, 0, 30, tzinfo=UTC)
    stats = StatsCollector(session_name="rt8", clock=lambda: now)
    stats.incoming(3)
    stats.command("menu")
    assert stats.flush() == 1
    stats.incoming(2)
    stats.outgoing()
    stats.command("menu")
    stats.command("ping")
    stats.flush()
    row = MessageStat.objects.get(session_name="rt8")
    assert row.bucket == now.replace(second=0)
    assert (row.messages_in, row.messages_out, row.commands) == (5, 1, 3)
    assert row.by_command == {"menu": 2, "ping": 1}
    assert stats.flush() == 0


def test_back_after_a_long_outage_every_owner_gets_one_message(settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.OWNER_NUMBERS = ["15550009999"]
    now = timezone.now()
    ConnectionEvent.objects.create(
        session_name="rt9", at=now - timedelta(minutes=30), from_state="connecting", to_state="connected"
    )
    ConnectionEvent.objects.create(
        session_name="rt9",
        at=now - timedelta(minutes=12),
        from_state="connected",
        to_state="reconnecting",
        reason="keepalive_timeout",
    )
    transport = MemoryTransport()
    runtime = BotRuntime(transport=transport, session_name="rt9", router=PingRouter(), machine=machine())
    thread, out = start(runtime)
    wait_for(lambda: len(transport.sent) == 1)
    runtime.request_stop()
    thread.join(10)
    [notice] = transport.sent
    assert notice.chat == "15550009999@s.whatsapp.net"
    assert "back online" in notice.text and "keep-alive" in notice.text
