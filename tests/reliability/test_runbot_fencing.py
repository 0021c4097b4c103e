# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""A paused holder never overlaps its standby: the bot child fences itself when the lease proof runs out.

Two real ``runbot`` workers on one paired session (``LEASE_TTL=3``, see ``runbot_cluster``). The
holder's supervisor is SIGSTOPped for twice the TTL, as a frozen VM or a stopped container would be:
it renews nothing and hands its child no new deadline. Checked from ``/proc`` (the holder's child is
gone before the standby's child connects) and from the event rows (no two connected intervals
overlap; the waking holder leaves the new owner's status alone).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import connection

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


class GoneWatch:
    """Notes the wall time a process is first seen gone, checking every 5 ms on a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.gone_at: float | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not _alive(self.pid):
                self.gone_at = time.time()
                return
            time.sleep(0.005)

    def wait(self, timeout: float) -> float | None:
        self._thread.join(timeout)
        return self.gone_at


def test_a_paused_holder_s_child_leaves_before_the_standby_s_child_connects(runbot_env, tmp_path, child_db, settings):
    session = "paused"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    bots = [start_bot(env, tmp_path, session) for _ in range(2)]
    holder = holder_of(bots)
    [standby] = [bot for bot in bots if bot is not holder]
    standby.wait_for(r"standing by")
    [child_pid] = holder.child_pids()

    watch = GoneWatch(child_pid)
    os.kill(holder.process.pid, signal.SIGSTOP)
    paused = time.monotonic()
    try:
        standby.wait_for(r"standby took over", timeout=LEASE_TTL + 15)
        took = time.monotonic()
        standby.wait_for(rf"connection state session={session} from=connecting to=connected", timeout=30)
        remaining = 2 * LEASE_TTL - (time.monotonic() - paused)
        if remaining > 0:
            time.sleep(remaining)  # the pause itself: twice the TTL, whatever the takeover took
    finally:
        os.kill(holder.process.pid, signal.SIGCONT)
    gone_at = watch.wait(1.0)
    assert gone_at is not None, "the paused holder's child is still running: two connections"

    standby_children = standby.child_pids()
    rows = child_db.rows(
        "SELECT at, detail FROM bot_connectionevent WHERE session_name = %s AND to_state = 'connected' ORDER BY at",
        (session,),
    )
    standby_connected = [_wall(at) for at, detail in rows if str(standby_children[-1]) in str(detail)]
    assert standby_connected, rows
    report(
        "paused_holder",
        db=connection.vendor,
        ttl=LEASE_TTL,
        child_gone_after_pause_s=round(gone_at - (time.time() - (time.monotonic() - paused)), 2),
        takeover_s=round(took - paused, 2),
        gap_before_new_connection_s=round(standby_connected[0] - gone_at, 3),
    )
    assert gone_at < standby_connected[0], "from /proc: the old child was gone before the new one connected"
    assert took - paused <= LEASE_TTL + 2.0, "takeover within the TTL and a poll"

    # The holder wakes: it finds its lease gone, stands by, and does not touch the new owner's status.
    holder.wait_for(r"lease lost, stopping the session .*reason=(expired|stolen)", timeout=15)
    holder.wait_for(r"standing by", timeout=15)
    assert holder.child_pids() == [child_pid], "the woken holder started no second child"
    status = "SELECT pid, state FROM bot_botstatus WHERE session_name = %s"
    assert child_db.rows(status, (session,)) == [(standby.process.pid, "connected")]

    for bot in bots:
        bot.process.send_signal(signal.SIGTERM)
    for bot in bots:
        code, _ = bot.wait(40)
        assert code == 0, bot.log
    intervals, _ = connected_intervals(child_db, session)
    assert len({i.pid for i in intervals}) == 2 and all(i.end is not None for i in intervals), intervals
    assert overlaps(intervals) == []
    assert "lease proof ran out; leaving WhatsApp" in holder.log


def _wall(value) -> float:
    if isinstance(value, datetime):
        moment = value
    else:
        moment = datetime.fromisoformat(str(value).replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
