# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""One owner per session, proved with real ``runbot`` processes (issues 5 and 10).

Two (SQLite and PostgreSQL) or three (PostgreSQL) supervisors run on one paired session with
``LEASE_TTL=3``; only the lease holder's child "connects" (see ``runbot_cluster``). Checked from the
``bot_connectionevent`` rows: no two children's connected intervals overlap. Measured and printed:
SIGKILL of the holder -> standby took the lease, and -> the new child connected (restore included).
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.db import connection

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.reliability.runbot_cluster import (
    LEASE_TTL,
    cluster_env,
    connected_intervals,
    has,
    holder_of,
    overlaps,
    report,
    start_bot,
    wait_any,
)
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.slow

SLACK = 2.0  # the standby polls every TTL/3 = 1 s; the rest is a loaded 2-core machine


def stop_all(bots: list[Runbot]) -> None:
    for bot in bots:
        if bot.process.poll() is None:
            bot.process.send_signal(signal.SIGTERM)
    for bot in bots:
        if bot.process.returncode is None:
            code, _ = bot.wait(40)
            assert code == 0, bot.log


def assert_one_connected_at_a_time(child_db, session: str, *, expected_children: int) -> None:
    intervals, rows = connected_intervals(child_db, session)
    assert len({i.pid for i in intervals}) == expected_children, intervals
    assert all(i.end is not None for i in intervals), intervals  # every child wrote its own end
    assert overlaps(intervals) == []
    report("connected_intervals", session=session, intervals=len(intervals), rows=rows, overlaps=0)


def kill_holder_and_time_takeover(holder: Runbot, standbys: list[Runbot], session: str) -> Runbot:
    """SIGKILL the holder's supervisor; its orphaned child stops itself; a standby takes over."""
    [child_pid] = holder.child_pids()[-1:]
    killed = time.monotonic()
    os.kill(holder.process.pid, signal.SIGKILL)
    holder.process.wait()
    taker, took = wait_any(standbys, r"standby took over", timeout=LEASE_TTL + 20)
    taker.wait_for(rf"connection state session={session} from=connecting to=connected", timeout=30)
    connected = time.monotonic()
    restore = taker.wait_for(r"session restore .*source=(\w+)")[-1].group(1)
    report(
        "lease_takeover",
        session=session,
        db=connection.vendor,
        ttl=LEASE_TTL,
        lease_taken_s=round(took - killed, 2),
        connected_s=round(connected - killed, 2),
        restore_source=restore,
    )
    assert took - killed <= LEASE_TTL + SLACK, "the standby took the lease later than the TTL allows"
    assert restore == "live"
    # The orphaned child saw its supervisor vanish and stopped before the standby's child connected.
    deadline = time.monotonic() + 10
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphan = _alive(child_pid)
    if orphan:
        os.kill(child_pid, signal.SIGKILL)  # leave no stray process behind a failing test
    assert not orphan, "the orphaned child of the killed supervisor is still running"
    return taker


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie no one reaps any more (its parent was killed) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_two_runbots_never_connect_at_once_and_the_standby_takes_over_a_killed_holder(
    runbot_env, tmp_path, child_db, settings
):
    session = "duo"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    holder = start_bot(env, tmp_path, session)
    holder_of([holder])
    standby = start_bot(env, tmp_path, session)  # a second worker comes up later (the trio starts at once)
    standby.wait_for(r"standing by")
    assert not has(standby, r"bot child started")
    status = "SELECT pid, state FROM bot_botstatus WHERE session_name = %s"
    assert child_db.rows(status, (session,)) == [(holder.process.pid, "connected")]  # the standby wrote nothing

    taker = kill_holder_and_time_takeover(holder, [standby], session)
    assert taker is standby
    assert child_db.rows(status, (session,)) == [(standby.process.pid, "connected")]
    stop_all([standby])
    assert_one_connected_at_a_time(child_db, session, expected_children=2)


def test_a_holder_whose_lease_is_stolen_stops_its_child_at_once_and_stands_by(runbot_env, tmp_path, child_db, settings):
    session = "stolen"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    bots = [start_bot(env, tmp_path, session) for _ in range(2)]
    holder = holder_of(bots)
    [standby] = [bot for bot in bots if bot is not holder]
    standby.wait_for(r"standing by")
    [child_pid] = holder.child_pids()

    # Another worker took the lease behind the holder's back (as after a clock jump or a long pause).
    stolen = time.monotonic()
    child_db.execute(
        "UPDATE sessions_store_sessionlease SET token = %s, holder = %s, fencing = fencing + 1, "
        "expires_at = %s WHERE session_id = (SELECT id FROM sessions_store_whatsappsession WHERE name = %s)",
        ("thief-token", "elsewhere:1:thief", "2999-01-01 00:00:00+00:00", session),
    )
    holder.wait_for(r"lease lost, stopping the session .*reason=stolen", timeout=10)
    holder.wait_for(r"bot child restarted on purpose .*reason=lease_lost", timeout=10)
    stopped = time.monotonic()
    assert not _alive(child_pid)
    holder.wait_for(r"standing by", timeout=10)
    report("lease_stolen_child_stopped", db=connection.vendor, seconds=round(stopped - stolen, 2), ttl=LEASE_TTL)
    assert stopped - stolen < LEASE_TTL  # stopped before a thief's TTL could even have run out

    # The thief lets go: exactly one of the two takes the session again, and connects.
    child_db.execute(
        "UPDATE sessions_store_sessionlease SET token = '', holder = '', expires_at = NULL "
        "WHERE session_id = (SELECT id FROM sessions_store_whatsappsession WHERE name = %s)",
        (session,),
    )
    taker, _ = wait_any(bots, r"took over", timeout=10)
    taker.wait_for(rf"session={session} from=connecting to=connected", count=2 if taker is holder else 1)
    stop_all(bots)
    assert_one_connected_at_a_time(child_db, session, expected_children=2)


def test_three_runbots_hand_the_session_on_twice_when_each_holder_is_killed(runbot_env, tmp_path, child_db, settings):
    session = "trio"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    bots = [start_bot(env, tmp_path, session) for _ in range(3)]
    holder = holder_of(bots)
    waiting = [bot for bot in bots if bot is not holder]
    for bot in waiting:
        bot.wait_for(r"standing by")

    for _round in range(2):
        taker = kill_holder_and_time_takeover(holder, waiting, session)
        waiting = [bot for bot in waiting if bot is not taker]
        for bot in waiting:  # the other standbys stay out: no child of theirs ever started
            assert bot.process.poll() is None and not has(bot, r"bot child started"), bot.log
        holder = taker
    stop_all([holder])
    assert_one_connected_at_a_time(child_db, session, expected_children=3)


def test_a_child_whose_supervisor_is_sigkilled_stops_itself(runbot_env, tmp_path, child_db):
    """Regression: the orphan used to stay connected (only logging a broken heartbeat pipe) while a
    standby's child connected to the same session."""
    runbot_env["HEARTBEAT_TIMEOUT"] = "2"
    bot = Runbot(["--transport", "console", "--session", "orphan"], runbot_env, tmp_path)
    bot.wait_for(r"connection state session=orphan from=connecting to=connected")
    [child_pid] = bot.child_pids()
    killed = time.monotonic()
    os.kill(bot.process.pid, signal.SIGKILL)
    bot.process.wait()
    deadline = killed + 10
    while _alive(child_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphan = _alive(child_pid)
    if orphan:
        os.kill(child_pid, signal.SIGKILL)  # leave no stray process behind a failing test
    assert not orphan, bot.log
    bot.wait_for(r"supervisor gone; stopping the child")
    report("orphan_child_stopped", seconds=round(time.monotonic() - killed, 2), heartbeat_interval=0.5)
    intervals, _rows = connected_intervals(child_db, "orphan")
    assert [i.pid for i in intervals] == [child_pid] and intervals[0].end is not None
