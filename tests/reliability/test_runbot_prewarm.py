# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""The standby's pre-warmed child, proved with real ``runbot`` processes: it takes over, and only with the lease.

Real ``runbot`` workers on one paired session (``LEASE_TTL=3``, the fake neonize of ``runbot_cluster``
whose child "connects" offline). Checked from the logs, ``/proc`` and the event rows:

1. the standby's child starts before the lease is ours and waits (no row, no connection); SIGTERM to
   the owner, and that same process runs the session (``prewarmed=True``), never overlapping the owner;
2. a standby whose supervisor is SIGSTOPped while the lease is free: its waiting child connects to
   nothing (it has no order, and no fence); SIGKILL of that supervisor ends the waiting child too.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.reliability.runbot_cluster import (
    LEASE_TTL,
    cluster_env,
    connected_intervals,
    holder_of,
    overlaps,
    report,
    start_bot,
)
from tests.reliability.test_runbot_lease import _alive
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.slow

READY = r"pre-warmed bot child ready; it waits for the lease pid=(\d+)"


def warm_pid(bot: Runbot) -> int:
    """The pid of the bot's waiting child, once its imports are done."""
    return int(bot.wait_for(READY, timeout=60)[-1].group(1))


def rows_of(child_db, session: str, pid: int) -> list[tuple[str, str]]:
    """The connection rows the process ``pid`` wrote (every child's rows carry its pid)."""
    rows = child_db.rows("SELECT to_state, reason, detail FROM bot_connectionevent WHERE session_name = %s", (session,))
    parsed = [(to, reason, json.loads(d) if isinstance(d, str) else (d or {})) for to, reason, d in rows]
    return [(to, reason) for to, reason, detail in parsed if detail.get("pid") == pid]


def test_the_standby_s_waiting_child_takes_over_and_a_paused_standby_s_child_connects_nothing(
    runbot_env, tmp_path, child_db, settings
):
    session = "warm"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    owner = start_bot(env, tmp_path, session)
    holder_of([owner])
    standby = start_bot(env, tmp_path, session)
    standby.wait_for(r"standing by")
    waiting = warm_pid(standby)
    assert _alive(waiting) and rows_of(child_db, session, waiting) == []  # waiting touches nothing

    signalled = time.monotonic()
    owner.process.send_signal(signal.SIGTERM)
    started = standby.wait_for(r"bot child started session=warm child_pid=(\d+) start=1 prewarmed=True")
    assert int(started[-1].group(1)) == waiting  # the waiting process itself runs the session
    standby.wait_for(r"connection state session=warm from=connecting to=connected", timeout=30)
    report("prewarmed_takeover", db=child_db.url.split(":")[0], connected_s=round(time.monotonic() - signalled, 2))
    assert owner.wait(40)[0] == 0

    # A new standby pre-warms, then its supervisor is frozen while the owner leaves: the lease is free.
    paused = start_bot(env, tmp_path, session)
    paused.wait_for(r"standing by")
    frozen_child = warm_pid(paused)
    os.kill(paused.process.pid, signal.SIGSTOP)
    try:
        standby.process.send_signal(signal.SIGTERM)
        assert standby.wait(40)[0] == 0
        time.sleep(LEASE_TTL + 1.0)  # longer than any fence it could have been handed
        assert _alive(frozen_child), "the waiting child must wait, not leave or go on alone"
        assert rows_of(child_db, session, frozen_child) == []  # no state, no connection: it never went
        os.kill(paused.process.pid, signal.SIGKILL)  # its supervisor dies: the order pipe closes
    finally:
        os.kill(paused.process.pid, signal.SIGCONT)
    paused.process.wait(10)
    deadline = time.monotonic() + 10
    while _alive(frozen_child) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphan = _alive(frozen_child)
    if orphan:
        os.kill(frozen_child, signal.SIGKILL)
    assert not orphan, "the waiting child of a killed supervisor is still running"
    assert rows_of(child_db, session, frozen_child) == []

    intervals, _ = connected_intervals(child_db, session)
    assert len({i.pid for i in intervals}) == 2 and overlaps(intervals) == []
