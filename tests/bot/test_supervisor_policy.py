"""The supervisor's decisions, one step at a time: hung or not, restart or not, with a fake child."""

from __future__ import annotations

import signal

import pytest

from bot.backoff import BackoffPolicy
from bot.heartbeat import Beat, ChildExit
from bot.models import BotStatus, ConnectionEvent, ReconnectEvent
from bot.supervisor.budget import RestartBudget
from bot.supervisor.loop import Child, NoOwnership, Supervisor

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeProcess:
    def __init__(self, pid: int = 4242) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.signals: list[int] = []
        self.dies_on_sigterm = True

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        if self.dies_on_sigterm:
            self.returncode = -signum

    def kill(self) -> None:
        self.signals.append(signal.SIGKILL)
        self.returncode = -signal.SIGKILL

    def wait(self) -> int:
        return self.returncode


class FakeReader:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.latest: Beat | None = None
        self.received_at = clock()

    def beat(self, **fields) -> None:
        self.latest = Beat(pid=4242, **fields)
        self.received_at = self.clock()

    def age(self) -> float:
        return self.clock() - self.received_at

    def join(self, timeout: float | None = None) -> None:
        return None


def supervisor(clock: Clock, *, limit: int = 3, transport: str = "console") -> Supervisor:
    sup = Supervisor(
        session_name="policy",
        transport=transport,
        scheduler=False,
        heartbeat_timeout=60,
        shutdown_grace=25,
        backoff=BackoffPolicy(base=1.0, cap=8.0, max_attempts=limit, jitter=lambda c: c),
        budget=RestartBudget(limit=limit, window=600, clock=clock),
        ownership=NoOwnership(),
        clock=clock,
    )
    sup.restore = lambda **kwargs: None  # the sessions app is tested on its own
    return sup


def attach(sup: Supervisor, clock: Clock) -> tuple[FakeProcess, FakeReader]:
    process, reader = FakeProcess(), FakeReader(clock)
    sup.child = Child(process, reader, clock())
    return process, reader


def test_a_child_gets_the_startup_grace_before_its_first_beat():
    clock = Clock()
    sup = supervisor(clock)
    process, _ = attach(sup, clock)
    clock.now += 59
    assert not sup.check_hung(clock())
    clock.now += 2  # before the first beat the limit is the larger of HEARTBEAT_TIMEOUT and the startup grace
    assert sup.check_hung(clock())
    assert process.signals == [signal.SIGTERM]


def test_fresh_beats_that_report_a_long_stall_mean_hung_and_a_crash_style_restart():
    clock = Clock()
    sup = supervisor(clock)
    process, reader = attach(sup, clock)
    reader.beat(state="connecting", stalled_for=30.0)
    assert not sup.check_hung(clock())
    reader.beat(state="connecting", stalled_for=61.0)
    assert sup.check_hung(clock())
    assert sup.child is None and sup._next_start == pytest.approx(clock() + 1.0)
    attempt = ReconnectEvent.objects.get(session_name="policy")
    assert (attempt.reason, attempt.delay_seconds, attempt.outcome) == ("child_hung", 1.0, "pending")


def test_a_child_that_ignores_sigterm_gets_sigkill_after_the_kill_grace():
    clock = Clock()
    sup = supervisor(clock)
    sup.kill_grace = 0.0
    process, reader = attach(sup, clock)
    process.dies_on_sigterm = False
    reader.beat(state="connected", stalled_for=0.0)
    clock.now += 61
    assert sup.check_hung(clock())
    assert process.signals == [signal.SIGTERM, signal.SIGKILL]


def test_a_stall_while_pairing_is_an_unscanned_qr_and_costs_no_budget():
    clock = Clock()
    sup = supervisor(clock, limit=1)
    BotStatus.objects.create(session_name="policy", state="pairing")
    _, reader = attach(sup, clock)
    reader.beat(state="pairing", stalled_for=61.0)
    sup.check_hung(clock())
    assert sup._next_start == clock() and sup.budget.used == 0
    assert ConnectionEvent.objects.filter(session_name="policy", reason="qr_timeout").exists()


def test_a_terminal_exit_idles_until_someone_asks_for_a_fresh_child():
    clock = Clock()
    sup = supervisor(clock, transport="neonize")
    sup.ownership = NoOwnership()
    process, reader = attach(sup, clock)
    reader.beat(state="logged_out")
    sup.child.state = "logged_out"
    sup.on_child_exit(ChildExit.TERMINAL)
    assert sup.idle_reason == "logged_out" and sup.child is None
    sup._next_start = clock()
    sup.start_child = lambda: pytest.fail("an idle supervisor starts nothing by itself")
    sup.step()
    assert sup.restart_child("refresh_qr") == "child starting (refresh_qr)"
    assert sup.idle_reason == "" and sup._next_start == clock()


def test_restarts_back_off_and_the_budget_ends_a_crash_loop():
    clock = Clock()
    sup = supervisor(clock, limit=2)
    delays = []
    for _ in range(3):
        attach(sup, clock)
        sup.on_child_exit(-signal.SIGABRT)
        if sup._stop.is_set():
            break
        delays.append(sup._next_start - clock())
    assert delays == [1.0, 2.0]
    assert sup._stop.is_set() and sup.exit_code == 1
    outcomes = list(
        ReconnectEvent.objects.filter(session_name="policy").order_by("id").values_list("outcome", flat=True)
    )
    assert outcomes == ["failed", "failed", "gave_up"]


def test_a_long_network_outage_gets_fresh_children_with_capped_delays_and_never_ends_the_worker():
    """Reconnect attempts used up is an outage, not a crash: it never spends the crash-loop budget."""
    clock = Clock()
    sup = supervisor(clock, limit=2)
    delays = []
    for _ in range(8):
        attach(sup, clock)
        sup.on_child_exit(ChildExit.FRESH)
        delays.append(sup._next_start - clock())
        clock.now += 30  # each offline child spends its attempts in well under HEALTHY_AFTER
    assert not sup._stop.is_set() and sup.budget.used == 0
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0]  # capped, for as long as it lasts
    attach(sup, clock)
    sup.on_child_exit(-signal.SIGABRT)  # a real crash still counts
    assert sup.budget.used == 1


def test_a_console_child_that_finished_ends_the_supervisor_cleanly():
    clock = Clock()
    sup = supervisor(clock)
    attach(sup, clock)
    sup.on_child_exit(ChildExit.DONE)
    assert sup._stop.is_set() and sup.exit_code == 0


def test_a_neonize_child_that_exits_zero_unasked_is_restarted():
    clock = Clock()
    sup = supervisor(clock, transport="neonize")
    attach(sup, clock)
    sup.on_child_exit(ChildExit.DONE)
    assert not sup._stop.is_set() and sup._next_start is not None
    assert ReconnectEvent.objects.get(session_name="policy").reason == "child_exited"
