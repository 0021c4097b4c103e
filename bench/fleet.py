"""Memory of a ``runbot --all`` worker against a single-session ``runbot`` in the same run.

``fleet_worker_rss_ratio``: RSS of the worker process (supervisor side only, bot children not
counted) running N sessions, each with its own supervisor thread and bot child, over the RSS of a
``runbot --session`` supervisor running one. The floor is what one session's supervisor costs
anyway; a process per session would cost N times it. Goal: <= 1.5x for N = 4. Measured here: the
worker loads the restore chain and backup code for its leased sessions (the floor, with a transport
that is not a WhatsApp session, does not): about 12 MiB once; each further session adds under 1 MiB
(its thread, heartbeat reader, database connection).

Both run the in-memory transport in their children (no WhatsApp), no scheduler, a fresh SQLite
database and store directory under a temporary directory.

    python bench/fleet.py [--sessions 4]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(ROOT / "manage.py")
MIB = 1024 * 1024
MEMORY = "tests.support.memory_transport:MemoryTransport"
GOAL = 1.5


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DYNO", "DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="blacksky_site.settings",
        BLACKSKY_DOTENV="0",
        SECRET_KEY=__import__("secrets").token_urlsafe(40),
        DATABASE_URL=f"sqlite:///{tmp}/fleet.sqlite3",
        WA_STORE_DIR=str(tmp / "wa"),
        MEDIA_ROOT=str(tmp / "media"),
        MEDIA_STARTER_PACK="false",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, MANAGE, *args], env=env, cwd=ROOT, check=True, capture_output=True, timeout=300)


def steady_rss(args: list[str], env: dict[str, str], log: Path, *, connected: int) -> tuple[int, int]:
    """Start ``runbot args``; once ``connected`` children are connected and settled: (worker RSS, children RSS)."""
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, MANAGE, "runbot", *args], env=env, cwd=ROOT, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 120
        while len(re.findall(r"to=connected", log.read_text())) < connected:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"runbot did not connect {connected} sessions:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        time.sleep(3.0)  # a few heartbeats and lease renewals: the steady state
        children = [int(p) for p in re.findall(r"bot child started .*?child_pid=(\d+)", log.read_text())]
        return rss(proc.pid), sum(rss(pid) for pid in children)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=4)
    n = parser.parse_args().sessions
    with tempfile.TemporaryDirectory(prefix="blacksky-bench-fleet-") as name:
        tmp = Path(name)
        env = environment(tmp)
        manage(env, "migrate", "--noinput", "-v", "0")
        names = [f"bench{i}" for i in range(n)]
        manage(
            env,
            "shell",
            "-v",
            "0",
            "-c",
            f"from sessions_store.models import WhatsAppSession as S; [S.objects.get_or_create(name=n) for n in {names!r}]",
        )
        one, one_child = steady_rss(
            ["--session", names[0], "--transport", MEMORY, "--no-scheduler"], env, tmp / "one.log", connected=1
        )
        many, many_children = steady_rss(
            ["--all", "--transport", MEMORY, "--no-scheduler"], env, tmp / "all.log", connected=n
        )
    ratio = many / one
    print(f"single-session supervisor: {one / MIB:.1f} MiB (its child {one_child / MIB:.1f} MiB)")
    print(f"--all worker with {n} sessions: {many / MIB:.1f} MiB (its {n} children {many_children / MIB:.1f} MiB)")
    print(f"a process per session would cost about {n * one / MIB:.1f} MiB of supervisors")
    print(f"RESULT fleet_worker_rss_ratio value={many / MIB:.1f} floor={one / MIB:.1f} ratio={ratio:.2f} goal=<={GOAL}")


if __name__ == "__main__":
    main()
