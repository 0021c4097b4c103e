"""Memory of a whole worker as a dyno counts it: proportional set size, against a bare neonize client.

PSS (``/proc/<pid>/smaps_rollup``) splits each shared page among the processes that map it, so a sum
over processes is what they cost together; it is what a container's memory accounting sees, where RSS
counts the pages the django-q2 cluster shares with the supervisor (it forks) once per process.

- ``worker_pss_mib``: ``runbot --session S --transport neonize`` with its django-q2 cluster (the ORM
  broker, ``Q_WORKERS`` as configured), the real neonize offline (it dials a closed port and retries),
  settled: the supervisor, every cluster process and the bot child, summed. Floor: a bare neonize
  client process after one offline connect (``NewClient(...).connect()``): the cost of WhatsApp itself.
  Goal <= 1.8x.
- ``fleet_extra_session_pss_mib``: ``runbot --all`` running 1 and 3 sessions; what each session past the
  first adds, ``(pss(3) - pss(1)) / 2``, against the same floor. Goal <= 1.1x.
- ``standby_prewarm_pss_mib``: a standby worker (another holds the lease) with ``STANDBY_PREWARM=true``
  minus the same with ``false``: what its waiting child costs on the standby dyno. Reported.

Every figure is the median of a few samples a second apart, once the processes are settled.

    python bench/worker_pss.py [--samples 5]
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(ROOT / "manage.py")
KIB = 1024
MIB = 1024 * 1024
SETTLE = 6.0  # seconds after the last process started: imports done, a few beats and lease renewals

BARE = """
import os, threading, time
from neonize.client import NewClient
from neonize.utils import log
import logging
log.setLevel(logging.ERROR)
client = NewClient({store!r}, uuid="bare")
def dial():
    try:
        client.connect()
    except Exception:
        pass
thread = threading.Thread(target=dial, daemon=True)
thread.start(); thread.join(20); time.sleep({settle})
print("ready", flush=True)
time.sleep(600)
"""


def pss(pid: int) -> int:
    """Bytes of proportional set size of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * KIB
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, from the parent pids in ``/proc/*/stat``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                continue
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def role(pid: int, root: int) -> str:
    if pid == root:
        return "supervisor"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except FileNotFoundError:
        return "gone"
    return "bot child" if b"--child" in argv else "cluster"


def tree_pss(root: int, samples: int) -> dict[str, float]:
    """MiB of PSS by role (supervisor, cluster, bot child), the median of ``samples``."""
    taken: list[dict[str, float]] = []
    for _ in range(samples):
        by_role: dict[str, float] = {}
        for pid in descendants(root):
            by_role[role(pid, root)] = by_role.get(role(pid, root), 0.0) + pss(pid) / MIB
        by_role.pop("gone", None)
        by_role["total"] = sum(by_role.values())
        taken.append(by_role)
        time.sleep(1.0)
    roles = {name for sample in taken for name in sample}
    return {name: statistics.median(sample.get(name, 0.0) for sample in taken) for name in sorted(roles)}


def environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DYNO", "DATABASE_URL", "REDIS_URL", "PYTHONPATH"}}
    env.update(
        DJANGO_SETTINGS_MODULE="blacksky_site.settings",
        BLACKSKY_DOTENV="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        DATABASE_URL=f"sqlite:///{tmp}/pss.sqlite3",
        WA_STORE_DIR=str(tmp / "wa"),
        MEDIA_ROOT=str(tmp / "media"),
        MEDIA_STARTER_PACK="false",
        WA_PROXY="http://127.0.0.1:9",  # a closed local port: neonize fails its dial at once, offline
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
        MAX_RECONNECT_ATTEMPTS="1000",  # offline, the child retries its dial for good instead of restarting
        RECONNECT_CAP_SECONDS="5",
    )
    for name in ("WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE", "HEROKU_API_KEY", "CONNECTION_WEBHOOK_URL"):
        env[name] = ""
    return env


def prepare(env: dict[str, str], names: list[str]) -> None:
    subprocess.run([sys.executable, MANAGE, "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    code = "import django; django.setup()\nfrom tests.sessions_store.factories import make_paired_store\n"
    code += "from sessions_store.models import WhatsAppSession\n"
    code += "".join(f"WhatsAppSession.objects.named({name!r}); make_paired_store({name!r})\n" for name in names)
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)


def bare_client(tmp: Path, samples: int) -> float:
    store = str(tmp / "bare.sqlite3")
    proc = subprocess.Popen(
        [sys.executable, "-c", BARE.format(store=store, settle=2.0)],
        cwd=tmp,
        env={**os.environ, "PYTHONPATH": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return tree_pss(proc.pid, samples)["total"]
    finally:
        proc.kill()
        proc.wait()


def runbot(args: list[str], env: dict[str, str], log: Path, *, wait_for: str, times: int = 1) -> subprocess.Popen:
    """``manage.py runbot args``, once ``wait_for`` appeared ``times`` times in its log, then settled."""
    out = open(log, "a")  # noqa: SIM115 - the process writes to it until it ends
    proc = subprocess.Popen([sys.executable, MANAGE, "runbot", *args], cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while len(re.findall(wait_for, log.read_text(errors="replace"))) < times:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)  # SIGTERM: a SIGKILLed worker would leave its django-q2 processes behind
            raise SystemExit(f"runbot {' '.join(args)} did not get to {wait_for!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    time.sleep(SETTLE)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def line(figure: str, value: float, floor: float, goal: str, **extra: object) -> None:
    fields = " ".join(f"{k}={v}" for k, v in extra.items())
    print(f"RESULT {figure} value={value:.1f} floor={floor:.1f} ratio={value / floor:.2f} goal={goal} {fields}".strip())


def shares(parts: dict[str, float]) -> str:
    return ",".join(f"{name.replace(' ', '_')}:{mib:.1f}" for name, mib in parts.items() if name != "total")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    samples = parser.parse_args().samples
    dialled = r"cannot reach WhatsApp"
    with tempfile.TemporaryDirectory(prefix="worker-pss-bench-") as name:
        tmp = Path(name)
        env = environment(tmp)
        prepare(env, ["pss0", "pss1", "pss2"])
        floor = bare_client(tmp, samples)

        one = runbot(["--session", "pss0", "--transport", "neonize"], env, tmp / "one.log", wait_for=dialled)
        worker = tree_pss(one.pid, samples)
        print(f"bare client {floor:.1f} MiB; worker of one session: {worker}", file=sys.stderr, flush=True)
        # a standby beside it, with and without its waiting child
        costs = {}
        for prewarm in ("true", "false"):
            log = tmp / f"standby-{prewarm}.log"
            wait = "pre-warmed bot child ready" if prewarm == "true" else "standing by"
            standby = runbot(
                ["--session", "pss0", "--transport", "neonize", "--no-scheduler"],
                {**env, "STANDBY_PREWARM": prewarm},
                log,
                wait_for=wait,
            )
            costs[prewarm] = tree_pss(standby.pid, samples)
            stop(standby)
        stop(one)

        fleets = {}
        for count in (1, 3):
            log = tmp / f"all-{count}.log"
            fleet = runbot(
                ["--all", "--transport", "neonize", "--max-sessions", str(count)],
                env,
                log,
                wait_for=r"bot child started",
                times=count,
            )
            fleets[count] = tree_pss(fleet.pid, samples)
            print(f"runbot --all, {count} sessions: {fleets[count]}", file=sys.stderr, flush=True)
            stop(fleet)

    extra = (fleets[3]["total"] - fleets[1]["total"]) / 2
    warm = costs["true"]["total"] - costs["false"]["total"]
    print(f"standby with its waiting child: {costs['true']}; without: {costs['false']}", file=sys.stderr)
    line("worker_pss_mib", worker["total"], floor, "<=1.8", parts=shares(worker))
    line(
        "fleet_extra_session_pss_mib",
        extra,
        floor,
        "<=1.1",
        one=f"{fleets[1]['total']:.1f}",
        three=f"{fleets[3]['total']:.1f}",
    )
    line("standby_prewarm_pss_mib", warm, floor, "reported", standby=f"{costs['false']['total']:.1f}")
    missed = []
    if worker["total"] > 1.8 * floor:
        missed.append(f"worker {worker['total'] / floor:.2f}x > 1.8x")
    if extra > 1.1 * floor:
        missed.append(f"extra session {extra / floor:.2f}x > 1.1x")
    if missed:
        print("goal missed: " + "; ".join(missed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
