"""Seconds away per restart: the handover from a SIGTERM'd owner to its hot standby.

Two real ``runbot`` workers on one paired session (the default ``LEASE_TTL``): the owner gets
SIGTERM; ``handover_gap_s`` runs from the owner's child leaving the connected state (its last
connection row) to the standby's child starting to dial (its ``connecting/child_started`` row), both
read from ``bot_connectionevent`` (one machine, one clock). Two transports:

- ``fake``: the reliability suite's stand-in for neonize (it "connects" at once), so the gap is ours;
- ``neonize``: the real client offline (it dials and fails at once: the dial attempt is visible).

Floor: a bare process that imports neonize and opens the same store (``NewClient(...).connect()``
up to the failed dial), from spawn to exit, measured right before each round. Goals: PostgreSQL <= 2 s
and <= 3x the floor; SQLite <= 4 s.

Each round's standby is SIGTERMed into only once it stands by with its pre-warmed child ready (as a
standby dyno is, minutes after it started). ``STANDBY_PREWARM=false`` in the environment measures the
cold child instead (the same run's comparison).

    python bench/handover.py [--rounds 3] [--db sqlite|postgres|both] [--transport fake|neonize|both]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "tests" / "reliability" / "runbot_site"
SESSION = "handover"
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


def env_for(db_url: str, tmp: Path, *, fake: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "blacksky_site.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnop",
        "BLACKSKY_DOTENV": "0",
        "DATABASE_URL": db_url,
        "WA_STORE_DIR": str(tmp / "wa"),
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": f"{SITE}:{ROOT}" if fake else str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE", "HEROKU_API_KEY", "CONNECTION_WEBHOOK_URL"):
        env[name] = ""
    return env


def worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    args = [sys.executable, "manage.py", "runbot", "--transport", "neonize", "--no-scheduler", "--session", SESSION]
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def rows(env: dict[str, str], after_id: int) -> list[tuple[int, str, str, str, float, int]]:
    """(id, from, to, reason, at epoch, pid) of the session's connection rows after ``after_id``."""
    code = (
        "import django, json; django.setup()\n"
        "from bot.models import ConnectionEvent as E\n"
        f"print(json.dumps([(e.id, e.from_state, e.to_state, e.reason, e.at.timestamp(), (e.detail or {{}}).get('pid', 0))"
        f" for e in E.objects.filter(session_name={SESSION!r}, id__gt={after_id}).order_by('id')]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return [tuple(r) for r in json.loads(out.stdout.strip().splitlines()[-1])]


def wait_rows(env: dict[str, str], after_id: int, done, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = rows(env, after_id)
        result = done(found)
        if result:
            return result
        time.sleep(0.3)
    raise SystemExit(f"timed out waiting for connection rows after #{after_id}")


def handed_over(found: list, owner_child_pid: int):
    """(the owner child's first row after the signal, the standby child's first dial), once both are there."""
    left = next((r for r in found if r[5] == owner_child_pid), None)
    dial = next(
        (r for r in found if r[5] != owner_child_pid and r[2] == "connecting" and r[3] == "child_started"), None
    )
    return (left, dial) if left and dial else None


def setup(env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = "import django; django.setup()\nfrom tests.sessions_store.factories import make_paired_store\n"
    code += f"make_paired_store({SESSION!r})"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def store_dsn(env: dict[str, str]) -> str:
    code = (
        f"import django; django.setup()\nfrom sessions_store.store import store_for\nprint(store_for({SESSION!r}).dsn)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def floor_seconds(env: dict[str, str], dsn: str) -> float:
    """Spawn to exit of a bare process: import neonize, open the store, dial (fails offline)."""
    code = (
        "from neonize.client import NewClient\n"
        f"client = NewClient({dsn!r}, uuid='floor')\n"
        "try:\n    client.connect()\nexcept Exception:\n    pass\n"
        "import os; os._exit(0)"
    )
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "PYTHONPATH": ""}, capture_output=True, timeout=60
    )
    return time.monotonic() - started


READY = "pre-warmed bot child ready"  # the child's line once its imports are done


def count(log: Path, text: str) -> int:
    return log.read_text(errors="replace").count(text) if log.exists() else 0


def worker_standing_by(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A new worker, once it stands by with its child pre-warmed and ready (as a standby is after minutes)."""
    prewarm = env.get("STANDBY_PREWARM", "true").lower() not in {"false", "0", "no", "off"}
    standing, ready = count(log, "standing by"), count(log, READY)
    process = worker(env, log)
    deadline = time.monotonic() + 90
    while count(log, "standing by") <= standing or (prewarm and count(log, READY) <= ready):
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the standby did not get ready:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    time.sleep(1.0)  # its first look at the lease is behind it
    return process


def one_db(db_url: str, transport: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="blacksky-bench-handover-") as tmp_name:
        tmp = Path(tmp_name)
        env = env_for(db_url, tmp, fake=transport == "fake")
        setup(env)
        log = tmp / "workers.log"
        dsn = store_dsn(env)
        owner = worker(env, log)
        first_child = "connected" if transport == "fake" else "reconnecting"
        wait_rows(env, 0, lambda found: any(r[2] == first_child for r in found))
        standby = worker_standing_by(env, log)
        gaps: list[float] = []
        floors: list[float] = []
        try:
            for _ in range(rounds):
                floors.append(floor_seconds(env, dsn))  # in the same minute as the gap it is compared with
                last = rows(env, 0)[-1][0]
                owner_child_pid = rows(env, 0)[-1][5]
                owner.send_signal(signal.SIGTERM)

                left, dial = wait_rows(env, last, lambda found, pid=owner_child_pid: handed_over(found, pid))
                gaps.append(dial[4] - left[4])
                owner.wait(60)
                new_pid = dial[5]
                wait_rows(
                    env, dial[0], lambda found, pid=new_pid: any(r[5] == pid and r[2] == first_child for r in found)
                )
                owner, standby = standby, worker_standing_by(env, log)  # the old owner comes back as the new standby
        finally:
            for process in (owner, standby):
                process.send_signal(signal.SIGTERM)
            for process in (owner, standby):
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
        vendor = "postgresql" if db_url.startswith("postgres") else "sqlite"
        value, floor = statistics.median(gaps), statistics.median(floors)
        goal = "<=2s_and_<=3x" if vendor == "postgresql" else "<=4s"
        print(
            f"RESULT handover_gap_s_{vendor}_{transport} value={value:.2f} floor={floor:.2f} "
            f"ratio={value / floor:.2f} goal={goal} rounds={rounds} gaps={','.join(f'{g:.2f}' for g in gaps)} "
            f"floors={','.join(f'{f:.2f}' for f in floors)} prewarm={env.get('STANDBY_PREWARM', 'true')}",
            flush=True,
        )


def fresh_pg_database() -> str | None:
    name = f"blacksky_bench_handover_{os.getpid()}"
    code = (
        "import psycopg\n"
        f"with psycopg.connect({PG_ADMIN!r}, autocommit=True, connect_timeout=3) as c:\n"
        f"    c.execute('DROP DATABASE IF EXISTS {name}'); c.execute('CREATE DATABASE {name}')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return None if done.returncode else PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    code = (
        "import psycopg\n"
        f"with psycopg.connect({PG_ADMIN!r}, autocommit=True, connect_timeout=3) as c:\n"
        f"    c.execute('DROP DATABASE IF EXISTS {name} WITH (FORCE)')"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--transport", choices=["fake", "neonize", "both"], default="both")
    args = parser.parse_args()
    transports = ["fake", "neonize"] if args.transport == "both" else [args.transport]
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        for transport in transports:
            if db == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    one_db(f"sqlite:///{tmp}/bench.sqlite3", transport, args.rounds)
            else:
                url = fresh_pg_database()
                if url is None:
                    print("no PostgreSQL on 127.0.0.1:5432: the PostgreSQL rows are skipped", file=sys.stderr)
                    continue
                try:
                    one_db(url, transport, args.rounds)
                finally:
                    drop_pg_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
