"""When a lock's holder is provably gone: one row per rule, with a probe standing in for /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest

from sessions_store.holders import FOREIGN_STALE, Holder, LeaseSeen, holder_gone, process_start_epoch, process_started

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
HERE, THERE = "worker-a", "worker-b"
STARTED = "boot-1/4242"
ALIVE = {101: STARTED, 102: "boot-1/9999", 103: ""}  # 102: the pid now runs another process; 103: not probeable


def probe(pid: int) -> str | None:
    return ALIVE.get(pid)


LEASE = LeaseSeen("lease-token", 7, NOW + timedelta(seconds=20))

ROWS = [
    # (holder, acquired this long ago, lease row now, -> gone?, why contains)
    (Holder(HERE, 100, STARTED), 1, None, True, "process is gone"),
    (Holder(HERE, 102, STARTED), 1, None, True, "another process"),
    (Holder(HERE, 101, STARTED), 3600, None, False, ""),  # alive, no lease: respected however old
    (Holder(HERE, 103, STARTED), 1, None, False, ""),  # alive but its start cannot be read: respected
    (Holder(HERE, 101, ""), 1, None, False, ""),  # recorded without a start time: liveness decides
    (Holder(HERE, 101, STARTED, "lease-token", 7), 1, LEASE, False, ""),
    (Holder(HERE, 101, STARTED, "lease-token", 7), 1, LeaseSeen("lease-token", 7, NOW), True, "lapsed"),
    (
        Holder(HERE, 101, STARTED, "lease-token", 7),
        1,
        LeaseSeen("other", 8, NOW + timedelta(seconds=20)),
        True,
        "moved on",
    ),
    (Holder(HERE, 101, STARTED, "lease-token", 7), 1, None, True, "moved on"),  # released
    (Holder(HERE, 100, STARTED, "lease-token", 7), 1, LEASE, True, "process is gone"),
    (Holder(THERE, 101, STARTED), 60, None, False, ""),  # another host, no lease, young: respected
    (Holder(THERE, 101, STARTED), FOREIGN_STALE.total_seconds(), None, True, "ran on worker-b"),
    (Holder(THERE, 555, STARTED, "lease-token", 7), 7200, LEASE, False, ""),  # its lease is current
    (Holder(THERE, 555, STARTED, "lease-token", 7), 5, LeaseSeen("lease-token", 7, NOW), True, "lapsed"),
]


@pytest.mark.parametrize(("holder", "age", "lease", "gone", "why"), ROWS)
def test_holder_gone_rules(holder, age, lease, gone, why):
    answer = holder_gone(
        holder=holder, acquired_at=NOW - timedelta(seconds=age), now=NOW, here=HERE, lease=lease, probe=probe
    )
    assert bool(answer) is gone
    assert why in answer


def test_this_process_is_alive_with_a_start_time():
    started = process_started(os.getpid())
    assert started and "/" in started
    assert process_started(os.getpid()) == started  # stable: what a later probe compares against
    assert 0 < process_start_epoch(os.getpid()) <= datetime.now(UTC).timestamp()


def test_a_reaped_process_is_gone_and_a_zombie_counts_as_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert process_started(child.pid) is not None
        os.kill(child.pid, signal.SIGKILL)
        # Not reaped yet: a zombie keeps its pid, but it will never give a lock back.
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while process_started(child.pid) is not None and datetime.now(UTC) < deadline:
            time.sleep(0.01)
        assert process_started(child.pid) is None
    finally:
        child.kill()
        child.wait(timeout=10)
    assert process_started(child.pid) is None
    assert process_start_epoch(child.pid) is None
