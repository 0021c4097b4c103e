# ruff: noqa: F811 - the private_pg fixture imported from tests.support.private_pg is a parameter here
"""Database outages under a running worker are outages, not crashes: real processes, a private server.

One ``runbot`` (supervisor + child, the ``BlipConsole`` test transport) runs on a private PostgreSQL
(``tests.support.private_pg``) that the test stops (refusing: connections reset, new ones refused)
or freezes (SIGSTOP of the postmaster and every backend: sockets open, nothing answers). During each
outage the test sends messages and a ``!blip`` (the WhatsApp link drops and comes back: two
transitions and one reconnect attempt, written by the child) and asks ``/healthz`` through a web
process. Afterwards:

- no child restart at all (so no budget spent), exit 0, no traceback anywhere in the worker's log;
- one ``database unreachable`` and one ``database back ... outage_s=`` line per component per outage;
- the blip's rows are in the database, stamped inside the outage (when they happened), its attempt
  closed; every message is counted in ``MessageStat``;
- ``/healthz`` said 503 ``database`` during the outage and 200 within 10 s after it;
- SIGTERM during a freeze ends the worker within ``SHUTDOWN_GRACE``.

These run on the private server whatever DATABASE_URL the suite uses, so only in the SQLite run.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.bot.fixtures.processes import MANAGE, ROOT, Runbot, base_env
from tests.reliability.runbot_cluster import report
from tests.support.private_pg import PrivatePostgres, private_pg  # noqa: F401 - a fixture

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

SESSION = "outage"
GRACE = 25
BACK_WITHIN = 10.0
HEALTHZ_BOUND = 5 + 2 + 1.0  # DB_CONNECT_TIMEOUT + the health read's budget + the request itself
# A frozen server is noticed when a call is cut (DB_STATEMENT_TIMEOUT + 1 s): a hang shorter than
# that is only latency. The freeze test uses 2 s bounds so that a 5 s freeze is an outage too.
FREEZE_SETTINGS = {"DB_STATEMENT_TIMEOUT": "2", "DB_CONNECT_TIMEOUT": "2"}


@pytest.fixture(autouse=True)
def _once_per_suite() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("runs on its own private PostgreSQL: once per suite (the SQLite run) is enough")


class Worker:
    """The runbot under test, its stdin, and a /healthz web process on the same database."""

    def __init__(self, server: PrivatePostgres, tmp_path: Path, **settings: str) -> None:
        self.server = server
        env = base_env(tmp_path)
        env.update(
            DATABASE_URL=server.url,
            MEDIA_STARTER_PACK="false",
            LOG_LEVEL="INFO",
            HEARTBEAT_TIMEOUT="20",
            SHUTDOWN_GRACE=str(GRACE),
            CHILD_RESTART_LIMIT="1",
            OUTBOUND_PER_MINUTE="0",
            TYPING_SECONDS="0",
            ALLOWED_HOSTS="testserver",
            **settings,
        )
        subprocess.run(
            [sys.executable, MANAGE, "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True, timeout=120
        )
        # The session exists before the run: the blip console plays a real bot whose /healthz counts,
        # not a console trial (a run that creates its session under a test transport marks it a trial).
        subprocess.run(
            [
                sys.executable,
                MANAGE,
                "shell",
                "-c",
                f"from sessions_store.models import WhatsAppSession as W; W.objects.get_or_create(name={SESSION!r})",
            ],
            env=env,
            cwd=ROOT,
            check=True,
            timeout=120,
        )
        self.bot = Runbot(
            ["--transport", "tests.support.blip_console:BlipConsole", "--session", SESSION, "--no-scheduler"],
            env,
            tmp_path,
        )
        self.web = subprocess.Popen(
            [sys.executable, "-m", "tests.support.healthz_probe"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._answer() == {"ready": True}
        self.sent = 0
        # the longest a call that runs into a freeze waits: cut at the statement bound + 1 s, then
        # Django's reconnect attempt on leaving the transaction (connect timeout)
        self.first_call_bound = (
            float(env.get("DB_STATEMENT_TIMEOUT", "5")) + 1 + float(env.get("DB_CONNECT_TIMEOUT", "5"))
        )

    def say(self, line: str) -> None:
        self.bot.process.stdin.write(line + "\n")
        self.bot.process.stdin.flush()

    def messages(self, n: int) -> None:
        for _ in range(n):
            self.say(f"hello {self.sent}")
            self.sent += 1

    def _answer(self) -> dict:
        while True:
            line = self.web.stdout.readline()
            assert line, "the healthz probe died"
            if line.startswith("HEALTHZ "):
                return json.loads(line.removeprefix("HEALTHZ "))

    def healthz(self) -> dict:
        self.web.stdin.write("\n")
        self.web.stdin.flush()
        return self._answer()

    def healthy_within(self, seconds: float) -> float:
        started = time.monotonic()
        while True:
            answer = self.healthz()
            if answer["status"] == 200:
                return time.monotonic() - started
            assert time.monotonic() - started < seconds, answer
            time.sleep(0.2)

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.server.url.replace("postgres://", "postgresql://"), connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def close(self) -> None:
        if self.web.poll() is None:
            self.web.kill()
            self.web.wait()


def ride_through(worker: Worker, *, kind: str, seconds: float, n: int, noticed: bool = True) -> dict[str, float]:
    """One outage of ``seconds`` with traffic, a blip and /healthz inside it; checks what it left.

    ``noticed``: the outage is long enough that both components must have seen it (their n-th
    "database back" line); a shorter hang may pass as mere latency.
    """
    bot, server = worker.bot, worker.server
    began = datetime.now(UTC)
    (server.stop if kind == "stop" else server.freeze)()
    outage_started = time.monotonic()
    worker.messages(3)
    worker.say(f"!blip {n}")
    time.sleep(0.5)
    during = worker.healthz()
    assert (during["status"], during["reason"]) == (503, "database"), during
    assert during["seconds"] < HEALTHZ_BOUND, during
    worker.messages(2)
    time.sleep(max(0.0, seconds - (time.monotonic() - outage_started)))
    ended = datetime.now(UTC)
    (server.start if kind == "stop" else server.thaw)()
    restored = time.monotonic()
    if noticed:
        for component in ("supervisor", "child"):
            bot.wait_for(rf"database back component={component} outage_s=", count=n, timeout=BACK_WITHIN + 10)
    back = time.monotonic() - restored
    healthy = worker.healthy_within(BACK_WITHIN + 10)
    deadline = time.monotonic() + BACK_WITHIN
    while True:  # the buffered rows are written by the child's next database tick
        rows = worker.rows(
            "SELECT at, to_state, reason FROM bot_connectionevent WHERE session_name = %s AND reason IN (%s, %s) "
            "ORDER BY at, id",
            (SESSION, f"blip_{n}", f"back_{n}"),
        )
        if len(rows) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [(state, reason) for _at, state, reason in rows] == [
        ("reconnecting", f"blip_{n}"),
        ("connected", f"back_{n}"),
    ], rows
    # Stamped when the child handled them, not when they were written: inside the outage, or just
    # after it when the child's main thread was the one caught in the call that noticed a freeze.
    late = timedelta(seconds=worker.first_call_bound if kind == "freeze" else 0.5)
    assert all(began <= at <= ended + late for at, _state, _reason in rows), f"{began} {rows} {ended}"
    attempts = worker.rows(
        "SELECT outcome, at FROM bot_reconnectevent WHERE session_name = %s AND reason = %s", (SESSION, f"blip_{n}")
    )
    assert [outcome for outcome, _at in attempts] == ["succeeded"], attempts
    return {"back_s": round(back, 1), "healthz_200_after_s": round(healthy, 1), "healthz_503_s": during["seconds"]}


def check_log(worker: Worker, outages: int, short: int = 0) -> str:
    """No trace, no restart; per component one line pair per outage (``short`` ones may pass unseen)."""
    log = worker.bot.log
    assert "Traceback" not in log, log[-4000:]
    for component in ("supervisor", "child"):
        seen = len(re.findall(rf"database unreachable component={component}\b", log))
        assert outages <= seen <= outages + short, log[-4000:]
        assert len(re.findall(rf"database back component={component} outage_s=", log)) == seen
    assert len(worker.bot.child_pids()) == 1, "the child was restarted"
    assert "restarting the bot child" not in log and "crash loop" not in log
    return log


def wait_counted(worker: Worker, *, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        [(counted,)] = worker.rows(
            "SELECT COALESCE(SUM(messages_in), 0) FROM bot_messagestat WHERE session_name = %s", (SESSION,)
        )
        if counted >= worker.sent or time.monotonic() > deadline:
            return counted
        time.sleep(0.5)


def sigterm_during_a_freeze(worker: Worker) -> float:
    """Freeze the server, SIGTERM the worker a second later: it must exit 0 within the grace."""
    worker.server.freeze()
    try:
        time.sleep(1.0)
        signalled = time.monotonic()
        worker.bot.process.send_signal(signal.SIGTERM)
        code, _ = worker.bot.wait(GRACE + 10)
        took = time.monotonic() - signalled
    finally:
        worker.server.thaw()
    assert code == 0, worker.bot.log[-3000:]
    assert took < GRACE, worker.bot.log[-3000:]
    assert "Traceback" not in worker.bot.log
    return took


def test_a_stopped_database_for_5_20_and_45_s_costs_no_restart_and_loses_no_event_then_sigterm_in_a_freeze(
    private_pg, tmp_path
):
    worker = Worker(private_pg, tmp_path)
    try:
        worker.bot.wait_for(rf"connection state session={SESSION} from=connecting to=connected", timeout=60)
        worker.messages(2)
        assert worker.healthy_within(20) >= 0
        figures = {}
        for n, seconds in enumerate((5, 20, 45), start=1):
            figures[seconds] = ride_through(worker, kind="stop", seconds=seconds, n=n)
        assert wait_counted(worker) == worker.sent
        log = check_log(worker, outages=3)
        lengths = [float(x) for x in re.findall(r"database back component=supervisor outage_s=([\d.]+)", log)]
        # and SIGTERM while the database hangs, with the default bounds (5 s statement, 5 s connect)
        took = sigterm_during_a_freeze(worker)
        for seconds, figure in figures.items():
            report("database_stopped", outage_s=seconds, **figure)
        report("database_stopped_lengths", supervisor_saw=",".join(map(str, lengths)))
        report("sigterm_during_freeze", bounds="default", exit_s=round(took, 1), grace=GRACE)
    finally:
        worker.close()


def test_a_frozen_database_is_an_outage_too_and_sigterm_during_a_freeze_ends_within_the_grace(private_pg, tmp_path):
    worker = Worker(private_pg, tmp_path, **FREEZE_SETTINGS)
    try:
        worker.bot.wait_for(rf"connection state session={SESSION} from=connecting to=connected", timeout=60)
        worker.messages(2)
        worker.healthy_within(20)
        # 20 s: an outage both components see. 5 s: shorter than a cut plus the next call may take
        # (2 s + 1 s, then up to a beat interval), so it may pass as latency; nothing may be lost.
        figures = {20: ride_through(worker, kind="freeze", seconds=20, n=1)}
        figures[5] = ride_through(worker, kind="freeze", seconds=5, n=2, noticed=False)
        assert wait_counted(worker) == worker.sent
        check_log(worker, outages=1, short=1)
        took = sigterm_during_a_freeze(worker)
        for seconds, figure in figures.items():
            report("database_frozen", outage_s=seconds, **figure)
        report("sigterm_during_freeze", bounds="2s", exit_s=round(took, 1), grace=GRACE)
    finally:
        worker.close()
