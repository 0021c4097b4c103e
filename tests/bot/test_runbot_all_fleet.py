"""The fleet's policy in-process: which sessions a worker takes, when it rests one, how signals spread.

Supervisors are stand-ins (their own behaviour is tested with real processes elsewhere); the leases
are the real ones on the test database.
"""

from __future__ import annotations

import signal
import threading
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from bot.heartbeat import ChildExit
from bot.supervisor.fleet import SPREAD_SECONDS, DynoRestartGate, Fleet, FleetSupervisor, HeldLease
from sessions_store.lease import lease_acquire, lease_current, lease_identity, lease_release
from sessions_store.models import SessionLease, WhatsAppSession

pytestmark = pytest.mark.django_db


class FakeSupervisor:
    """Runs until stopped, or ends at once with ``codes[session]``; counts the signals it was passed."""

    codes: dict[str, int] = {}
    made: list[FakeSupervisor] = []

    def __init__(self, *, session_name: str, ownership: HeldLease, **options: object) -> None:
        self.session_name = session_name
        self.ownership = ownership
        self.options = options
        self.signals: list[int] = []
        self.stop = threading.Event()
        FakeSupervisor.made.append(self)

    def run(self) -> int:
        assert self.ownership.acquire(self.stop)
        if self.session_name in self.codes:
            return self.codes[self.session_name]
        self.stop.wait(10)
        return 0

    def on_signal(self, signum: int, frame: object = None) -> None:
        self.signals.append(signum)
        self.stop.set()

    def request_stop(self) -> None:
        self.stop.set()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake():
    FakeSupervisor.codes = {}
    FakeSupervisor.made = []
    return FakeSupervisor


@pytest.fixture
def sessions():
    return [WhatsAppSession.objects.create(name=name).name for name in ("s1", "s2", "s3")]


def make_fleet(fake, **options) -> Fleet:
    options = {"ttl": 30, "poll": 1.0, **options}
    return Fleet(transport="neonize", scheduler=False, supervisor_factory=fake, **options)


def join(fleet: Fleet) -> None:
    for entry in fleet.running.values():
        entry.thread.join(5)


def test_a_worker_takes_one_lease_per_pass_and_no_more_than_max_sessions(fake, sessions):
    fleet = make_fleet(fake, max_sessions=2)
    waits = [fleet.lease_more() for _ in range(3)]
    assert waits == [SPREAD_SECONDS, SPREAD_SECONDS, 1.0]
    assert sorted(fleet.running) == ["s1", "s2"]
    assert lease_current(session_name="s3").token == ""
    made = {s.session_name: s.options for s in fake.made}
    assert made["s1"] == {
        "transport": "neonize",
        "scheduler": False,
        "uses_session": True,
        "shutdown_grace": fleet.shutdown_grace,
    }, "one scheduler per worker, never per session; every leased session is restored and backed up"
    fleet.shutdown()
    assert all(not s.thread.is_alive() for s in fleet.running.values())


def test_a_session_that_gave_up_rests_on_this_worker_for_the_cooldown(fake, sessions):
    clock = Clock()
    fake.codes = {"s1": 1}
    fleet = make_fleet(fake, cooldown=600, clock=clock)
    fleet.lease_more()
    join(fleet)
    fake.made[0].ownership.release()  # what the supervisor's shutdown does
    fleet.reap()
    assert fleet.running == {} and "s1" in fleet.resting

    fleet.lease_more()
    assert sorted(fleet.running) == ["s2"], "the free s1 is left to other workers"
    clock.now += 601
    fake.codes = {}
    fleet.lease_more()
    assert sorted(fleet.running) == ["s1", "s2"]
    fleet.shutdown()


def test_a_child_that_refuses_its_arguments_stops_the_worker_with_its_code(fake, sessions):
    fake.codes = {"s1": ChildExit.USAGE}
    fleet = make_fleet(fake)
    fleet.lease_more()
    join(fleet)
    fleet.reap()
    assert fleet.exit_code == ChildExit.USAGE and fleet._stop.is_set()


def test_every_signal_reaches_every_supervisor(fake, sessions):
    fleet = make_fleet(fake)
    for _ in range(3):
        fleet.lease_more()
    fleet.on_signal(signal.SIGTERM)
    fleet.on_signal(signal.SIGTERM)
    assert [s.signals for s in fake.made] == [[signal.SIGTERM, signal.SIGTERM]] * 3, "a second signal hurries all"
    fleet.shutdown()
    assert all(not entry.thread.is_alive() for entry in fleet.running.values())


def test_a_worker_wakes_when_another_workers_lease_expires(fake, sessions):
    for name in sessions:
        assert lease_acquire(session_name=name, ttl=3, **lease_identity())  # another worker's, about to lapse
    fleet = make_fleet(fake, poll=5.0)
    wait = fleet.lease_more()
    assert 0.05 <= wait <= 3.05 and fleet.running == {}, "it wakes when the lease lapses, not a whole poll later"
    # ``wait`` seconds pass on the database's clock: move the expiry back by as much.
    SessionLease.objects.filter(session__name="s1").update(expires_at=F("expires_at") - timedelta(seconds=wait))
    assert lease_acquire(session_name="s1", ttl=30, **lease_identity()), "expired: anyone may take it"


def test_a_held_lease_once_lost_stops_its_supervisor_instead_of_standing_by(sessions):
    lease = lease_acquire(session_name="s1", ttl=30, **lease_identity())
    ownership = HeldLease(lease=lease, ttl=30)
    stop = threading.Event()
    assert ownership.acquire(stop) and ownership.held and not stop.is_set()
    ownership.keeper.lost_reason = "stolen"
    assert not ownership.acquire(stop)
    assert stop.is_set() and not ownership.held


@pytest.mark.parametrize(("outcome", "performed", "child_restarts"), [("requested", 1, 0), ("not_configured", 3, 3)])
def test_a_planned_restart_asks_heroku_once_per_worker_and_restarts_each_child_without_it(
    monkeypatch, outcome, performed, child_restarts
):
    from bot.supervisor import planned_restart
    from bot.supervisor.planned_restart import PlannedRestartResult

    calls: list[str] = []

    def perform(*, now, session_name):
        calls.append(session_name)
        return PlannedRestartResult(event=None, dyno_restart=outcome)

    monkeypatch.setattr(planned_restart, "planned_restart_perform", perform)
    gate = DynoRestartGate()
    supervisors = [
        FleetSupervisor(dyno_restart=gate, session_name=name, transport="neonize", scheduler=False) for name in "abc"
    ]
    restarted: list[str] = []
    for supervisor in supervisors:
        supervisor.planned_restart = planned_restart.PlannedRestart(started_at=timezone.now(), at_hhmm="03:30")
        supervisor.planned_restart.next_at = timezone.now() - timedelta(seconds=1)  # due now
        supervisor.restart_child = restarted.append
        supervisor.check_planned_restart()
    assert len(calls) == performed and len(restarted) == child_restarts


def test_a_worker_that_runs_nothing_says_who_holds_the_sessions_once_and_again_when_that_changes(
    fake, sessions, caplog
):
    other = {"holder_host": "worker-a", "holder_pid": 101}
    for name in sessions:
        assert lease_acquire(session_name=name, ttl=30, token=f"a-{name}", **other)
    fleet = make_fleet(fake)
    caplog.set_level("INFO", logger="bot.supervisor.fleet")
    fleet.lease_more()
    fleet.lease_more()
    standby = [r.getMessage() for r in caplog.records if r.getMessage().startswith("standing by")]
    assert standby == ["standing by: all 3 sessions are held by worker-a:101 (s1, s2, s3)"], "said once, not per pass"

    lease_release(lease=lease_acquire(session_name="s3", ttl=30, token="a-s3", **other))
    assert lease_acquire(session_name="s3", ttl=30, token="b-s3", holder_host="worker-b", holder_pid=202)
    fleet.lease_more()
    standby = [r.getMessage() for r in caplog.records if r.getMessage().startswith("standing by")]
    assert standby[1:] == ["standing by: all 3 sessions are held by worker-a:101 (s1, s2), worker-b:202 (s3)"]
    assert fleet.running == {}


def test_console_trials_are_never_leased_by_a_worker_running_every_session(fake, sessions):
    WhatsAppSession.objects.filter(name="s2").update(trial=True)
    fleet = make_fleet(fake)
    for _ in range(3):
        fleet.lease_more()
    assert sorted(fleet.running) == ["s1", "s3"]
    assert lease_current(session_name="s2") is None, "not even a lease row for the trial"
    fleet.shutdown()


def test_between_passes_a_worker_looks_and_moves_on_once_a_lease_it_wants_is_released(fake, sessions):
    held = [
        lease_acquire(session_name=name, ttl=30, holder_host="other", holder_pid=1, token=f"other-{name}")
        for name in sessions
    ]
    fleet = make_fleet(fake, poll=5.0)
    assert fleet.lease_more() == 5.0 and fleet.running == {}
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(round(seconds, 3))
        if len(waits) == 3:
            lease_release(lease=held[1])  # the other worker's SIGTERM: it releases at once
        return False

    fleet._stop.wait = wait
    fleet.wait_or_free(5.0)
    assert waits == [0.2, 0.2, 0.2], "the pause ends at the look that found the lease free, not 5 s later"
    del fleet._stop.wait
    assert fleet.lease_more() == SPREAD_SECONDS and list(fleet.running) == ["s2"]
    fleet.shutdown()


def test_a_look_the_database_refuses_ends_the_looks_not_the_pause(fake, sessions, monkeypatch):
    from django.db import OperationalError

    import sessions_store.lease

    def refused(**kwargs: object) -> bool:
        raise OperationalError("the database is away")

    monkeypatch.setattr(sessions_store.lease, "lease_free_any", refused)
    fleet = make_fleet(fake, poll=5.0)
    fleet.looking = ["s1"]
    waits: list[float] = []
    fleet._stop.wait = lambda seconds: waits.append(round(seconds, 3)) or False
    fleet.wait_or_free(5.0)
    assert waits == [0.2, 4.8] and fleet.looking == []  # no pass every 0.2 s while the database is away
