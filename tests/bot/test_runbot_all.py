# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""``runbot --all`` as real worker processes sharing sessions through their leases.

The workers run the in-memory transport in their bot children (connects at once, idles until
stopped), so three sessions cost three light children; the supervisors around them are the real
ones: leases, restore chain, heartbeats, final backups.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from tests.bot.fixtures.processes import ChildDb, Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

MEMORY = "tests.support.memory_transport:MemoryTransport"
TTL = 3  # seconds (LEASE_TTL): renewals every second, a dead worker's sessions free after 3 s
CONNECTED = r"connection state session={} from=connecting to=connected"


def add_sessions(db: ChildDb, *names: str) -> None:
    """WhatsAppSession rows in the workers' database (raw SQL: on SQLite it is a file copy)."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    for name in names:
        if db.rows("SELECT 1 FROM sessions_store_whatsappsession WHERE name = %s", (name,)):
            continue
        db.execute(
            "INSERT INTO sessions_store_whatsappsession (name, jid, push_name, status, status_reason, store_backend,"
            " store_location, store_host, credentials_fingerprint, created_at, updated_at)"
            " VALUES (%s, '', '', 'new', '', '', '', '', '', %s, %s)",
            (name, now, now),
        )


def holders(db: ChildDb) -> dict[str, tuple[int | None, str]]:
    """session -> (holder pid, token) of every lease row."""
    rows = db.rows(
        "SELECT s.name, l.holder_pid, l.token FROM sessions_store_sessionlease l "
        "JOIN sessions_store_whatsappsession s ON s.id = l.session_id"
    )
    return {name: (pid, token) for name, pid, token in rows}


def acquired_at(db: ChildDb, name: str) -> float:
    [(value,)] = db.rows(
        "SELECT l.acquired_at FROM sessions_store_sessionlease l "
        "JOIN sessions_store_whatsappsession s ON s.id = l.session_id WHERE s.name = %s",
        (name,),
    )
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def taken(bot: Runbot) -> list[str]:
    return re.findall(r"fleet took a session session=(\S+)", bot.log)


def process_running(pid: int) -> bool:
    """True while ``pid`` runs. An exited orphan stays a zombie until init reaps it (os.kill still
    succeeds then), so the state letter in /proc decides."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def orphans_gone(pids: list[int], *, timeout: float) -> float:
    """Wall-clock time by which every pid had exited (polled; fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            if process_running(pid):
                alive.append(pid)
        if not alive:
            return time.time()
        assert time.monotonic() < deadline, f"children {alive} outlived their SIGKILLed worker"
        time.sleep(0.02)


def connected_at(log: str, name: str) -> float:
    """Wall-clock time of the last 'connected' line of ``name`` in a worker's log."""
    stamps = re.findall(rf"^(\S+)Z INFO \S+ connection state session={name} from=\w+ to=connected", log, re.M)
    return datetime.fromisoformat(stamps[-1]).replace(tzinfo=UTC).timestamp()


@pytest.fixture
def orphans():
    """Bot children of a worker the test SIGKILLed: killed at teardown if still alive (by pid)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def fleet_env(runbot_env):
    runbot_env["LEASE_TTL"] = str(TTL)
    runbot_env["HEARTBEAT_TIMEOUT"] = "4"  # children beat every second: an orphan notices its worker died
    return runbot_env


def test_two_workers_share_three_sessions_and_the_survivor_takes_over_a_killed_ones(
    fleet_env, tmp_path, child_db, orphans
):
    add_sessions(child_db, "s1", "s2", "s3")
    args = ["--all", "--transport", MEMORY, "--no-scheduler"]
    a = Runbot([*args, "--max-sessions", "2"], fleet_env, tmp_path)
    a.wait_for(r"fleet took a session", count=2)
    b = Runbot(args, fleet_env, tmp_path)
    b.wait_for(r"fleet took a session")
    for name in ("s1", "s2", "s3"):
        (a if name in taken(a) else b).wait_for(CONNECTED.format(name))

    owned = holders(child_db)
    assert sorted(taken(a) + taken(b)) == ["s1", "s2", "s3"], "every session owned by exactly one worker"
    assert {name: owned[name][0] for name in owned} == {
        **{name: a.process.pid for name in taken(a)},
        **{name: b.process.pid for name in taken(b)},
    }
    assert len(taken(a)) == 2 and "standing by" not in a.log + b.log  # --max-sessions; no worker waits on one

    moved = taken(a)
    orphans.extend(a.child_pids())
    a.process.send_signal(signal.SIGKILL)
    killed_at = time.time()
    seen_at = time.monotonic()
    a.wait(10)
    gone_at = orphans_gone(orphans, timeout=TTL + 10)
    for name in moved:
        b.wait_for(CONNECTED.format(name), timeout=TTL + 15)
    connected_after = time.monotonic() - seen_at
    reconnected_at = min(connected_at(b.log, name) for name in moved)
    print(f"the killed worker's children stopped {gone_at - killed_at:.2f} s after it")
    assert gone_at < reconnected_at, "never two children connected on one session: the orphans stopped first"
    takeovers = {name: acquired_at(child_db, name) - killed_at for name in moved}
    print(
        f"takeover after SIGKILL of a worker: lease {max(takeovers.values()):.2f} s, "
        f"children connected {connected_after:.2f} s (LEASE_TTL {TTL} s)"
    )
    assert all(0 < seconds <= TTL + 1.0 for seconds in takeovers.values()), takeovers
    assert sorted(taken(b)) == ["s1", "s2", "s3"]
    assert {pid for pid, _ in holders(child_db).values()} == {b.process.pid}

    add_sessions(child_db, "s4")  # a number added in the admin is picked up without a restart
    b.wait_for(CONNECTED.format("s4"), timeout=TTL + 10)

    b.process.send_signal(signal.SIGTERM)
    code, _ = b.wait(30)
    assert code == 0, b.log
    assert all(token == "" for _, token in holders(child_db).values()), "every lease released at shutdown"


def test_sigterm_stops_every_child_and_takes_every_final_backup_within_the_grace(
    runbot_env, tmp_path, child_db, settings
):
    from tests.sessions_store.factories import make_paired_store

    names = ("p1", "p2", "p3")
    for name in names:
        make_paired_store(name)
    add_sessions(child_db, *names)
    runbot_env["WA_STORE_DIR"] = str(settings.WA_STORE_DIR)
    runbot_env["SHUTDOWN_GRACE"] = "25"
    bot = Runbot(["--all", "--transport", MEMORY], runbot_env, tmp_path)  # with the worker's scheduler
    for name in names:
        bot.wait_for(CONNECTED.format(name), timeout=60)
    bot.wait_for(r"session restore .*source=live", count=3)
    children = bot.child_pids()

    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(40)
    took = time.monotonic() - started
    print(f"SIGTERM with {len(names)} sessions: worker exited in {took:.2f} s (SHUTDOWN_GRACE 25 s)")
    assert code == 0, bot.log
    assert took < 25
    assert not [pid for pid in children if process_running(pid)]
    backups = child_db.rows(
        "SELECT s.name, b.reason, b.state FROM sessions_store_sessionbackup b "
        "JOIN sessions_store_whatsappsession s ON s.id = b.session_id ORDER BY s.name"
    )
    assert backups == [(name, "shutdown", "verified") for name in names]
    assert len(re.findall(r"scheduler started", bot.log)) == 1, "one django-q2 cluster per worker, not per session"
    assert len(re.findall(r"supervisor starting", bot.log)) == 3
    assert "fleet stopped exit_code=0" in bot.log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--session", "other"], "does not take --session"),
        (["--pair-phone", "15551234567"], "does not take --pair-phone"),
        (["--transport", "console"], "does not share the terminal"),
        (["--max-sessions", "-1"], "--max-sessions takes 0"),
    ],
)
def test_all_refuses_options_that_name_one_session(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("runbot", "--all", *args)


def test_real_neonize_children_offline_keep_their_paired_sessions_and_the_worker_never_loads_neonize(
    runbot_env, tmp_path, child_db, settings
):
    from tests.sessions_store.factories import make_paired_store

    names = ("n1", "n2")
    stores = [make_paired_store(name) for name in names]
    add_sessions(child_db, *names)
    runbot_env["WA_STORE_DIR"] = str(settings.WA_STORE_DIR)
    runbot_env["MAX_RECONNECT_ATTEMPTS"] = "1000"  # offline for the whole test: keep retrying, no fresh child
    bot = Runbot(["--all", "--transport", "neonize", "--no-scheduler"], runbot_env, tmp_path)
    for name in names:
        bot.wait_for(rf"connection state session={name} from=connecting to=reconnecting", timeout=60)
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    assert re.findall(r"supervisor stopped .*neonize_loaded=(\w+)", bot.log) == ["False", "False"]
    backups = child_db.rows(
        "SELECT s.name, b.reason, b.state FROM sessions_store_sessionbackup b "
        "JOIN sessions_store_whatsappsession s ON s.id = b.session_id ORDER BY s.name"
    )
    assert backups == [(name, "shutdown", "verified") for name in names]
    assert all(store.health().healthy for store in stores), "an outage never deletes or replaces a paired session"
