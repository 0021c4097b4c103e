"""Two real processes contending for one session's lease, on the database of this test run.

Each process is ``tests/bot/lease_holder.py`` (a stand-in supervisor). On a SQLite run they share a
file copy of the test database; on a PostgreSQL run they share this run's test database. The TTL is short
(2 s) so that expiry really happens; the test itself never sleeps, it waits for the processes' lines.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.dbshare import shared_database_url

ROOT = Path(__file__).resolve().parents[2]
HOLDER = ROOT / "tests" / "bot" / "lease_holder.py"
TTL = 2.0
INTERVAL = 0.5
POLL = 0.1

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Holder:
    """One lease_holder process whose stdout lines are read on a thread and awaited with a deadline."""

    def __init__(self, env: dict[str, str], *extra: str) -> None:
        args = [sys.executable, str(HOLDER), "--ttl", str(TTL), "--interval", str(INTERVAL), "--poll", str(POLL)]
        self.proc = subprocess.Popen(
            [*args, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.events: list[dict] = []
        self.log: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # end of output

    def wait_for(self, predicate, timeout: float = 15.0) -> str:
        """The first new line for which ``predicate(text, event_or_None)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no such line within {timeout}s; saw: {self.log[-10:]}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line == "" and self.proc.poll() is not None:
                raise AssertionError(f"process ended (rc={self.proc.returncode}); saw: {self.log[-10:]}")
            self.log.append(line)
            event = json.loads(line[6:]) if line.startswith("EVENT ") else None
            if event is not None:
                self.events.append(event)
            if predicate(line, event):
                return line

    def wait_event(self, name: str, timeout: float = 15.0) -> dict:
        self.wait_for(lambda line, event: event is not None and event["event"] == name, timeout)
        return self.events[-1]

    def drain(self) -> None:
        """Read the rest of the output of an ended process."""
        self.proc.wait(timeout=15)
        while True:
            try:
                line = self.lines.get(timeout=5)
            except queue.Empty:
                return
            if line == "":
                return
            self.log.append(line)
            if line.startswith("EVENT "):
                self.events.append(json.loads(line[6:]))

    def named(self, name: str) -> list[dict]:
        return [e for e in self.events if e["event"] == name]

    def held_until(self) -> float:
        """The latest expiry this process knew of: it may have used the session until then."""
        return max(e["expires"] for e in self.events if e["event"] in {"acquired", "renewed"})

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=15)


@pytest.fixture
def holder_env(subprocess_env, tmp_path) -> dict[str, str]:
    """The holders' environment: this run's PostgreSQL test database, or a file copy of the SQLite one.

    The SQLite test database lives in memory; the sqlite3 backup API copies its migrated schema
    into a file the processes can share, in milliseconds instead of a migrate run.
    """
    env = dict(subprocess_env)
    env["DATABASE_URL"] = shared_database_url(tmp_path, "lease.sqlite3")
    return env


@pytest.fixture
def start(holder_env):
    started: list[Holder] = []

    def start_holder(*extra: str) -> Holder:
        holder = Holder(holder_env, *extra)
        started.append(holder)
        return holder

    yield start_holder
    for holder in started:
        holder.stop()


def acquired(line: str, event: dict | None) -> bool:
    return event is not None and event["event"] == "acquired"


def standing_by(line: str, event: dict | None) -> bool:
    return "standing by" in line


def test_two_processes_started_together_get_one_holder_and_a_standby(start) -> None:
    a, b = start(), start()
    outcomes = {}
    for name, proc in (("a", a), ("b", b)):
        proc.wait_for(lambda line, event: acquired(line, event) or standing_by(line, event))
        outcomes[name] = "holder" if proc.events and proc.events[-1]["event"] == "acquired" else "standby"
    assert sorted(outcomes.values()) == ["holder", "standby"]
    holder, standby = (a, b) if outcomes["a"] == "holder" else (b, a)
    holder.wait_event("renewed")

    holder.proc.send_signal(signal.SIGTERM)
    assert holder.proc.wait(timeout=15) == 0
    taken = standby.wait_event("acquired")
    holder.drain()

    released = holder.named("released")[0]
    assert taken["fencing"] == holder.named("acquired")[0]["fencing"] + 1
    assert released["at"] < taken["at"], "never two holders: the holder let go before the standby took it"
    assert taken["at"] - released["at"] < TTL, "a released lease is taken at the next poll, not after the TTL"


def test_a_standby_takes_over_within_the_ttl_after_the_holder_is_killed(start) -> None:
    a = start()
    first = a.wait_event("acquired")
    b = start()
    b.wait_for(standing_by)
    a.wait_event("renewed")

    a.proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    a.drain()
    taken = b.wait_event("acquired")

    assert taken["fencing"] == first["fencing"] + 1
    assert taken["db_at"] >= a.held_until(), "never two holders: the standby took it only after the last expiry"
    assert taken["at"] - killed_at <= TTL + 1.0, "taken over within the TTL (plus a poll and some load)"


def test_a_worker_whose_clock_runs_ahead_does_not_steal_a_live_lease(start) -> None:
    a = start()
    a.wait_event("acquired")
    a.wait_event("renewed")

    ahead = start("--clock-offset", "300")  # five minutes ahead: its own clock says the lease expired long ago
    ahead.wait_for(standing_by)
    renewals = len(a.named("renewed"))
    for _ in range(int(3 * TTL / INTERVAL)):  # three TTLs of the holder renewing while the skewed one polls
        a.wait_event("renewed")

    assert ahead.named("acquired") == [], "the database's clock decides: a live lease is never taken"
    assert a.named("lost") == [] and len(a.named("renewed")) > renewals


def test_a_worker_whose_clock_runs_behind_takes_over_within_the_ttl(start) -> None:
    a = start()
    first = a.wait_event("acquired")
    behind = start("--clock-offset", "-120")  # two minutes behind: its clock says the lease lives on
    behind.wait_for(standing_by)
    a.wait_event("renewed")

    a.proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    a.drain()
    taken = behind.wait_event("acquired")

    assert taken["fencing"] == first["fencing"] + 1
    assert taken["db_at"] >= a.held_until(), "not before the dead holder's lease ran out"
    assert taken["at"] - killed_at <= TTL + 1.0, "not delayed by the skew"


def test_a_frozen_holder_is_replaced_and_stops_itself_when_it_wakes(start) -> None:
    a = start()
    a.wait_event("acquired")
    b = start()
    b.wait_for(standing_by)
    a.wait_event("renewed")

    os.kill(a.proc.pid, signal.SIGSTOP)  # a stalled host: no renewals, but the process lives on
    try:
        taken = b.wait_event("acquired")
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    lost = a.wait_event("lost")

    assert a.proc.wait(timeout=15) == 3
    last_renewal = a.named("renewed")[-1]
    assert taken["db_at"] >= last_renewal["expires"], "never two holders at once"
    assert lost["reason"] in {"expired", "stolen"}
    assert all(e["at"] < taken["at"] for e in a.named("renewed")), "the frozen holder never renewed after"


def test_a_holder_whose_database_connection_is_cut_reconnects_and_keeps_the_lease(start) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("cutting a server-side connection is a PostgreSQL scenario (Heroku Postgres maintenance)")
    a = start()
    a.wait_event("acquired")
    a.wait_event("renewed")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1, "the holder's connection was cut"
    a.wait_for(lambda line, event: "lease renewal failed" in line)
    after = [a.wait_event("renewed") for _ in range(2)]

    assert a.proc.poll() is None and a.named("lost") == []
    assert after[-1]["expires"] > after[0]["at"], "renewals go on over a fresh connection"
