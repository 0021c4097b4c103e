"""The standby's pre-warmed child, one step at a time: spawned waiting, told to go on takeover, let go on stop.

The supervisor side runs with a fake ``Popen`` that keeps the child's ends of the pipes, so a test
reads exactly what a child would (the fence, then the order) or sees its pipe close; the child side
(``go_wait``, ``child_warm_run``) runs on real pipes. The process proof is tests/reliability/test_runbot_prewarm.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from bot.child import main as child_main
from bot.fencing import Fence, FenceWriter
from bot.heartbeat import ChildExit
from bot.supervisor import children, prewarm
from bot.supervisor.loop import Supervisor
from bot.supervisor.ownership import NoOwnership
from bot.warm_start import Go, GoWriter, go_wait

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakePopen:
    """A child that keeps (duplicates of) the pipe ends it was given, so the test can read and write them."""

    started: list[FakePopen] = []

    def __init__(self, argv: list[str], *, pass_fds=(), close_fds=True, env=None) -> None:
        self.argv = argv
        self.env = env or {}
        self.pid = 5000 + len(FakePopen.started)
        self.returncode: int | None = None
        self.ends = {fd: os.dup(fd) for fd in pass_fds}
        self.signals: list[int] = []
        FakePopen.started.append(self)

    def end(self, flag: str) -> int:
        return self.ends[int(self.argv[self.argv.index(flag) + 1])]

    def lines(self, flag: str) -> list[bytes]:
        fd = self.end(flag)
        os.set_blocking(fd, False)
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            data = b""
        return data.splitlines()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self.returncode = 0
        return self.returncode

    def kill(self) -> None:
        self.returncode = -9

    def send_signal(self, signum: int) -> None:
        self.signals.append(signum)
        self.returncode = -signum

    def close(self) -> None:
        for fd in self.ends.values():
            try:
                os.close(fd)
            except OSError:
                pass


class LeaseStub:
    """An ownership that holds lease 7 whose deadline is far away."""

    held = True
    fencing = 7

    def acquire(self, stop) -> bool:
        return True

    def keep(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def fence(self) -> Fence:
        return Fence(fencing=7, deadline=time.monotonic() + 60, exit_by=time.monotonic() + 65)


@pytest.fixture
def popen(monkeypatch):
    FakePopen.started = []
    monkeypatch.setattr(prewarm.subprocess, "Popen", FakePopen)
    monkeypatch.setattr(children.subprocess, "Popen", FakePopen)
    yield FakePopen
    for process in FakePopen.started:
        process.close()


def supervisor(*, ownership=None, prewarm_on: bool = True, transport: str = "neonize") -> Supervisor:
    sup = Supervisor(
        session_name="warm",
        transport=transport,
        scheduler=False,
        heartbeat_timeout=60,
        shutdown_grace=25,
        ownership=ownership or LeaseStub(),
        prewarm=prewarm_on,
        clock=Clock(),
    )
    sup.restore = lambda **kwargs: None
    return sup


# -- the supervisor's side ------------------------------------------------------------------------------
def test_a_standby_spawns_its_child_waiting_with_no_session_flags(popen):
    sup = supervisor()
    warm = sup.warm_spawn()
    [child] = popen.started
    assert warm is not None and warm.process is child
    assert "--warm-fd" in child.argv and "--fence-fd" in child.argv and "--heartbeat-fd" in child.argv
    assert "--session" not in child.argv and "--fencing" not in child.argv  # it owns nothing yet
    assert child.env["BLACKSKY_PROCESS"] == "bot-child"
    assert child.lines("--fence-fd") == [] and child.lines("--warm-fd") == []  # no proof, no order
    assert sup.warm_spawn() is warm  # one waiting child at a time


def test_the_takeover_sends_the_fence_first_then_the_order_and_adopts_the_waiting_child(popen):
    sup = supervisor()
    sup.pair_phone = "15551234567"
    sup.confirming_logout = True
    warm = sup.warm_spawn()
    assert warm.go.fd in prewarm._PARENT_ENDS

    child = sup.start_child()

    [process] = popen.started  # no second process: the waiting one runs the session
    assert child.process is process and sup.warm is None
    [fence_line] = process.lines("--fence-fd")
    assert Fence.decode(fence_line).fencing == 7
    [order] = process.lines("--warm-fd")
    assert Go.decode(order) == Go(
        session_name="warm", fencing=7, pair_phone="15551234567", confirm_logout=True, deaf_restarts=True
    )
    assert sup.confirming_logout is False  # one child confirms the logout
    assert os.read(process.end("--warm-fd"), 10) == b""  # one order per child: the pipe is closed after it
    assert warm.go.fd not in prewarm._PARENT_ENDS and warm.fence.fd not in prewarm._PARENT_ENDS
    child.reader.join(0.1)


def test_a_waiting_child_that_died_is_replaced_by_a_cold_start_with_the_session_flags(popen, caplog):
    sup = supervisor()
    sup.warm_spawn().process.returncode = 1

    child = sup.start_child()

    assert len(popen.started) == 2 and child.process is popen.started[1]
    argv = child.process.argv
    assert "--warm-fd" not in argv and argv[argv.index("--session") + 1] == "warm"
    assert argv[argv.index("--fencing") + 1] == "7"
    assert "the pre-warmed bot child had exited; starting one cold" in caplog.text


def test_a_child_that_cannot_take_its_order_is_killed_and_a_cold_one_confirms_instead(popen):
    sup = supervisor()
    sup.confirming_logout = True
    warm = sup.warm_spawn()
    os.close(warm.process.end("--warm-fd"))  # the child's end is gone: the order cannot be written
    os.close(warm.process.end("--fence-fd"))
    warm.process.ends.clear()

    child = sup.start_child()

    assert warm.process.returncode == -9
    assert child.process is popen.started[1] and "--confirm-logout" in child.process.argv


def test_stopping_while_standing_by_closes_the_order_pipe_so_the_child_leaves(popen):
    sup = supervisor()
    warm = sup.warm_spawn()
    sup.warm_discard("stopping")
    assert os.read(warm.process.end("--warm-fd"), 10) == b""  # EOF: go_wait returns None, the child exits 0
    assert sup.warm is None and warm.process.returncode == 0


def test_prewarm_is_for_a_leased_session_of_runbot_session_and_follows_the_setting(settings):
    settings.STANDBY_PREWARM = True
    plain = Supervisor(session_name="warm", transport="neonize", scheduler=False)
    assert plain.prewarm is True
    assert Supervisor(session_name="warm", transport="console", scheduler=False).prewarm is False  # no lease
    handed = Supervisor(session_name="warm", transport="neonize", scheduler=False, ownership=LeaseStub())
    assert handed.prewarm is False  # a lease handed over (runbot --all) is never waited for
    settings.STANDBY_PREWARM = False
    assert Supervisor(session_name="warm", transport="neonize", scheduler=False).prewarm is False


def test_without_prewarm_or_without_a_lease_the_child_starts_cold(popen):
    sup = supervisor(prewarm_on=False)
    assert sup.warm_spawn() is None and popen.started == []
    console = supervisor(ownership=NoOwnership(), transport="console")
    console.warm_spawn()
    child = console.start_child()
    assert "--warm-fd" not in child.process.argv and "--fence-fd" not in child.process.argv
    assert console.warm is not None  # not handed an unfenced session; let go at shutdown
    console.warm_discard("stopping")


def test_a_forked_process_closes_the_supervisor_s_ends_of_a_waiting_child_s_pipes():
    read_fd, write_fd = os.pipe()
    prewarm._PARENT_ENDS.add(write_fd)
    try:
        prewarm._close_parent_ends()  # what os.register_at_fork runs in the django-q2 cluster's processes
        with pytest.raises(OSError):
            os.fstat(write_fd)
        assert os.read(read_fd, 10) == b""  # the reader sees the end close
    finally:
        prewarm._PARENT_ENDS.discard(write_fd)
        os.close(read_fd)


# -- the child's side --------------------------------------------------------------------------------------
def test_go_wait_returns_the_order_once_a_whole_line_arrived():
    read_fd, write_fd = os.pipe()
    go = Go(session_name="warm", fencing=3, deaf_restarts=False)
    data = go.encode()
    os.write(write_fd, data[:5])
    threading.Timer(0.05, lambda: os.write(write_fd, data[5:])).start()
    assert go_wait(read_fd, parent=os.getppid(), check_every=0.02) == go
    os.close(write_fd)


@pytest.mark.parametrize(
    "feed, why",
    [(b"", "the supervisor closed its end"), (b"{not json\n", "an unreadable order"), (b"x" * 5000, "no line")],
)
def test_go_wait_gives_up_without_an_order(feed, why):
    read_fd, write_fd = os.pipe()
    if feed:
        os.write(write_fd, feed)
    if not feed or len(feed) > 4096:
        os.close(write_fd)
    assert go_wait(read_fd, parent=os.getppid(), check_every=0.02) is None, why
    if feed and len(feed) <= 4096:
        os.close(write_fd)


def test_go_wait_leaves_when_the_supervisor_is_no_longer_its_parent_even_with_the_pipe_open():
    read_fd, write_fd = os.pipe()  # a process the supervisor forked may still hold the write end
    parents = iter([41, 41, 1])
    started = time.monotonic()
    assert go_wait(read_fd, parent=41, getppid=lambda: next(parents), check_every=0.02) is None
    assert time.monotonic() - started < 1.0
    os.close(write_fd)


def test_the_order_writer_reports_a_gone_child_and_sends_once():
    read_fd, write_fd = os.pipe()
    writer = GoWriter(write_fd)
    assert writer.send(Go(session_name="warm")) is True
    assert writer.send(Go(session_name="warm")) is False  # one order per child
    os.close(read_fd)
    gone = GoWriter(os.dup(write_fd))
    assert gone.send(Go(session_name="warm")) is False  # broken pipe: reported, not raised
    writer.close()
    gone.close()


@pytest.fixture
def pipes():
    """A child's ends (``beat``, ``fence``, ``go``) and the supervisor's (``*_write``, ``beat_read``).

    ``child_warm_run`` ignores SIGINT (the supervisor decides): pytest's own handler comes back after.
    """
    sigint = signal.getsignal(signal.SIGINT)
    beat_read, beat_write = os.pipe()
    fence_read, fence_write = os.pipe()
    go_read, go_write = os.pipe()
    ends = {"beat_read": beat_read, "beat": beat_write, "fence": fence_read, "fence_write": fence_write}
    ends.update({"go": go_read, "go_write": go_write})
    yield ends
    signal.signal(signal.SIGINT, sigint)
    for fd in ends.values():
        try:
            os.close(fd)
        except OSError:
            pass


def run_warm(pipes: dict[str, int]) -> int:
    return child_main.child_warm_run(
        warm_fd=pipes["go"],
        transport_name="tests.support.memory_transport:MemoryTransport",
        heartbeat_fd=pipes["beat"],
        heartbeat_interval=0.2,
        fence_fd=pipes["fence"],
    )


def test_a_waiting_child_whose_supervisor_goes_leaves_without_a_query(pipes, django_assert_num_queries):
    os.close(pipes["go_write"])
    with django_assert_num_queries(0):
        assert run_warm(pipes) == ChildExit.DONE
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # a terminal's Ctrl-C is the supervisor's to act on


def test_a_child_told_to_go_refuses_a_fence_of_another_lease(pipes, django_assert_num_queries):
    FenceWriter(pipes["fence_write"]).send(
        Fence(fencing=8, deadline=time.monotonic() + 60, exit_by=time.monotonic() + 65)
    )
    GoWriter(pipes["go_write"]).send(Go(session_name="warm", fencing=7))
    with django_assert_num_queries(0):
        assert run_warm(pipes) == ChildExit.FENCED


def test_a_child_told_to_go_without_a_lease_proof_never_connects(pipes, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(child_main, "FIRST_FENCE_TIMEOUT", 0.2)
    GoWriter(pipes["go_write"]).send(Go(session_name="warm", fencing=7))  # the order alone proves nothing
    with django_assert_num_queries(0):
        assert run_warm(pipes) == ChildExit.FENCED


def test_a_waiting_child_with_an_unknown_transport_says_so_before_any_order(pipes):
    code = child_main.child_warm_run(
        warm_fd=pipes["go"], transport_name="pigeon", heartbeat_fd=None, heartbeat_interval=1.0, fence_fd=None
    )
    assert code == ChildExit.USAGE
