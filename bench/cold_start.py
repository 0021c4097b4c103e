"""Seconds from boot to the first dial on a wiped disk: one worker restores its store from the database backup.

What a Heroku dyno does after every restart with SQLite stores (the disk is new): ``runbot`` boots,
the restore chain writes the newest backup of a 10 MiB whatsmeow store back, the bot child starts
and dials. ``cold_start_s`` runs from the worker's spawn to its child's ``connecting/child_started``
row (one machine, one clock), with the same two transports as ``handover.py``: ``fake`` (the
reliability suite's instant-connect stand-in) and ``neonize`` offline (the real client; the dial is
visible). The rows also give the restore chain's share (``restoring/restore_chain`` to the next row).

Floor (same run): the backup file copied into place with the command-line tools (``zstd -d`` of the
store compressed with ``zstd -3``, then ``cp``), plus a bare process that imports neonize and opens
that store (``NewClient(...).connect()`` up to the failed dial), spawn to exit. Goal: <= 2x the floor.

    python bench/cold_start.py [--rounds 3] [--transport fake|neonize|both] [--megabytes 10]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from handover import env_for, floor_seconds

ROOT = Path(__file__).resolve().parent.parent
SESSION = "coldstart"
GOAL = 2.0
ZSTD = shutil.which("zstd") or "/usr/bin/zstd"

_SETUP = """
import django, sqlite3, sys; django.setup()
from tests.sessions_store.factories import fill_store, make_paired_store
from sessions_store.services import backup_create
store = make_paired_store({session!r})
filled = 0
while store.path.stat().st_size < {megabytes} * 1024 * 1024:
    filled = fill_store(store, megabytes=0.5, first=filled)
assert backup_create(session_name={session!r}, reason="manual").state == "verified"
source, copy = sqlite3.connect(store.path), sqlite3.connect(sys.argv[1])
source.backup(copy)
copy.close(); source.close()
print(store.path)
"""

_ROWS = """
import django, json; django.setup()
from bot.models import ConnectionEvent as E
rows = E.objects.filter(session_name={session!r}, id__gt={after}).order_by("id")
print(json.dumps([(e.id, e.to_state, e.reason, e.at.timestamp(), (e.detail or {{}}).get("pid", 0)) for e in rows]))
"""


def python(env: dict[str, str], code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bench setup failed: {done.stderr[-800:]}")
    return done.stdout.strip().splitlines()[-1]


def rows_after(env: dict[str, str], after: int) -> list[list]:
    import json

    return json.loads(python(env, _ROWS.format(session=SESSION, after=after)))


def floor_once(env: dict[str, str], plain: Path, store_dsn: str, target: Path) -> float:
    """``zstd -d`` + ``cp`` of the backup file into place, then the bare neonize process on it."""
    compressed = plain.with_suffix(".zst")
    subprocess.run([ZSTD, "-3", "-q", "-f", str(plain), "-o", str(compressed)], check=True)
    scratch = target.with_name(target.name + ".unpacked")
    started = time.monotonic()
    subprocess.run([ZSTD, "-d", "-q", "-f", str(compressed), "-o", str(scratch)], check=True)
    subprocess.run(["cp", str(scratch), str(target)], check=True)
    copied = time.monotonic() - started
    took = copied + floor_seconds(env, store_dsn)
    for path in (compressed, scratch, target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        path.unlink(missing_ok=True)
    return took


def one_round(env: dict[str, str], store_dir: Path, log: Path, first_child: str) -> tuple[float, float, str]:
    """Wipe the store, boot a worker, wait for its child's dial; (boot to dial, restore chain) seconds
    and every row up to the dial, as offsets from the spawn."""
    shutil.rmtree(store_dir, ignore_errors=True)
    last = (rows_after(env, 0) or [[0]])[-1][0]
    args = [sys.executable, "manage.py", "runbot", "--transport", "neonize", "--no-scheduler", "--session", SESSION]
    spawned = datetime.now().timestamp()
    worker = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = rows_after(env, last)
            dial = next((r for r in found if r[1] == "connecting" and r[2] == "child_started"), None)
            if dial and any(r[4] == dial[4] and r[1] == first_child for r in found):
                break
            time.sleep(0.3)
        else:
            raise SystemExit(f"no dial within 120 s; see {log}")
        chain = next(r for r in found if r[2] == "restore_chain")
        after_chain = next(r for r in found if r[0] > chain[0])
        steps = " ".join(f"{r[1]}/{r[2]}@{r[3] - spawned:.2f}" for r in found if r[0] <= dial[0])
        return dial[3] - spawned, after_chain[3] - chain[3], steps
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(90)
        except subprocess.TimeoutExpired:
            worker.kill()


def one_transport(transport: str, rounds: int, megabytes: float) -> None:
    with tempfile.TemporaryDirectory(prefix="blacksky-bench-cold-") as tmp_name:
        tmp = Path(tmp_name)
        env = env_for(f"sqlite:///{tmp}/bench.sqlite3", tmp, fake=transport == "fake")
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        plain = tmp / "floor-backup.sqlite3"
        store_path = Path(python(env, _SETUP.format(session=SESSION, megabytes=megabytes), str(plain)))
        size_mib = store_path.stat().st_size / 1024 / 1024
        target = tmp / "floor-store.sqlite3"
        floor_dsn = f"{target}?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_x="
        first_child = "connected" if transport == "fake" else "reconnecting"
        log = tmp / "worker.log"
        values, chains, floors = [], [], []
        for _ in range(rounds):
            floors.append(floor_once(env, plain, floor_dsn, target))
            took, chain, steps = one_round(env, store_path.parent, log, first_child)
            values.append(took)
            chains.append(chain)
            print(f"round: cold start {took:.2f}s (restore chain {chain:.2f}s), floor {floors[-1]:.2f}s", flush=True)
            print(f"  rows: {steps}", flush=True)
        value, floor = statistics.median(values), statistics.median(floors)
        print(
            f"RESULT cold_start_s_{transport} value={value:.2f} floor={floor:.2f} ratio={value / floor:.2f} "
            f"goal=<={GOAL:g}x rounds={rounds} restore_chain_s={statistics.median(chains):.2f} store_mib={size_mib:.1f}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport", choices=["fake", "neonize", "both"], default="both")
    parser.add_argument("--megabytes", type=float, default=10.0)
    args = parser.parse_args()
    for transport in ["fake", "neonize"] if args.transport == "both" else [args.transport]:
        one_transport(transport, args.rounds, args.megabytes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
