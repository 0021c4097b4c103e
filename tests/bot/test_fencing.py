"""The fence pipe: the supervisor's deadlines reach the child, and the child leaves when the last one passes.

Real pipes and threads; the deadlines are a few hundred milliseconds away, so every wait here is on a
condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from bot.child.fence import fence_exit
from bot.fencing import Fence, FenceWatch, FenceWriter, fence_for, fence_margin
from bot.heartbeat import ChildExit
from bot.supervisor.ownership import LeaseOwnership, NoOwnership


class Watched:
    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.writer = FenceWriter(write_fd)
        self.expired = threading.Event()
        self.closed = threading.Event()
        self.expired_with: list[Fence] = []
        self.watch = FenceWatch(read_fd, on_expired=self._expired, on_closed=self.closed.set).start()

    def _expired(self, fence: Fence) -> None:
        self.expired_with.append(fence)
        self.expired.set()


@pytest.fixture
def watched():
    pair = Watched()
    yield pair
    pair.watch.stop()
    pair.writer.close()


def soon(seconds: float, fencing: int = 7) -> Fence:
    now = time.monotonic()
    return Fence(fencing=fencing, deadline=now + seconds, exit_by=now + seconds + 0.5)


def test_the_margin_is_a_sixth_of_the_ttl_within_half_a_second_and_five() -> None:
    assert [fence_margin(ttl) for ttl in (1, 3, 30, 300)] == [0.5, 0.5, 5.0, 5.0]
    fence = fence_for(fencing=3, valid_until=100.0, ttl=30)
    assert (fence.fencing, fence.deadline, fence.exit_by) == (3, 95.0, 100.0)


def test_a_child_without_a_fence_yet_holds_no_proof(watched) -> None:
    assert watched.watch.wait_first(0.05) is None and watched.watch.remaining() is None


def test_the_child_leaves_when_no_new_fence_comes(watched) -> None:
    fence = soon(0.2)
    watched.writer.send(fence)

    assert watched.watch.wait_first(2) == fence
    assert watched.expired.wait(5)
    assert watched.expired_with == [fence] and time.monotonic() >= fence.deadline


def test_each_renewal_moves_the_deadline_on(watched) -> None:
    watched.writer.send(soon(0.3))
    for _ in range(5):
        time.sleep(0.1)
        watched.writer.send(soon(0.3))
        assert not watched.expired.is_set(), "a fresh fence came in time"
    assert watched.expired.wait(5)


def test_an_older_or_foreign_fence_never_extends_the_proof(watched) -> None:
    current = soon(0.3, fencing=7)
    watched.writer.send(current)
    watched.watch.wait_first(2)
    watched.writer.send(Fence(fencing=7, deadline=current.deadline - 1, exit_by=current.exit_by - 1))
    watched.writer.send(Fence(fencing=8, deadline=current.deadline + 60, exit_by=current.exit_by + 60))

    assert watched.expired.wait(5)
    assert watched.expired_with == [current]


def test_garbage_on_the_pipe_is_ignored_and_the_deadline_still_holds(watched) -> None:
    os.write(watched.writer.fd, b'not json\n{"fencing": 1}\n')
    fence = soon(0.2)
    watched.writer.send(fence)

    assert watched.expired.wait(5) and watched.expired_with == [fence]


def test_a_closed_pipe_says_the_supervisor_is_gone(watched) -> None:
    watched.writer.close()

    assert watched.closed.wait(5)


def test_the_writer_sends_only_what_changed_and_survives_a_gone_child() -> None:
    read_fd, write_fd = os.pipe()
    writer = FenceWriter(write_fd)
    fence = soon(10)
    assert writer.send(fence) and writer.send(fence)
    os.set_blocking(read_fd, False)
    assert os.read(read_fd, 4096).count(b"\n") == 1, "an unchanged fence is not resent"
    os.close(read_fd)
    assert writer.send(soon(20)) is False, "a gone child is not an error"
    writer.close()


class FakeTransport:
    def __init__(self, block: threading.Event | None = None) -> None:
        self.stopped = False
        self.block = block

    def stop(self) -> None:
        self.stopped = True
        if self.block is not None:
            self.block.wait(10)


class FakeMachine:
    def begin(self, state, reason):
        return (state, reason)


class FakeRuntime:
    session_name = "default"

    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.machine = FakeMachine()
        self.recorded: list[tuple] = []

    def _record(self, decision) -> None:
        self.recorded.append(decision)


def test_fence_exit_disconnects_records_and_exits_with_fenced() -> None:
    runtime = FakeRuntime(FakeTransport())
    codes: list[int] = []

    fence_exit(runtime, soon(0.0), exit=codes.append)

    assert runtime.transport.stopped and runtime.recorded == [("stopped", "fenced")]
    assert codes == [ChildExit.FENCED]


def test_fence_exit_never_waits_past_the_lease_s_bound_for_a_stuck_disconnect() -> None:
    stuck = threading.Event()
    runtime = FakeRuntime(FakeTransport(block=stuck))
    codes: list[int] = []
    fence = soon(0.0)
    try:
        fence_exit(runtime, fence, exit=codes.append)
        exited_at = time.monotonic()
    finally:
        stuck.set()

    assert codes == [ChildExit.FENCED]
    assert exited_at < fence.exit_by, "the process is gone before another worker may take the lease"


class LeaseStub:
    fencing = 4
    valid_until = 500.0


def test_ownership_hands_out_a_fence_only_while_it_holds_the_lease() -> None:
    ownership = LeaseOwnership(session_name="default", ttl=30)
    assert ownership.fence() is None and ownership.fencing is None

    ownership.lease = LeaseStub()
    ownership.keeper = type("Keeper", (), {"held": True})()
    assert ownership.fence() == Fence(fencing=4, deadline=495.0, exit_by=500.0)

    ownership.keeper.held = False
    assert ownership.fence() is None, "a lost lease proves nothing"
    assert ownership.fencing == 4, "its writes still carry the old number, and are refused for it"
    assert NoOwnership().fence() is None and NoOwnership().fencing is None
