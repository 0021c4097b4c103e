"""SIGKILL at random moments of a running backup loop: never a ``verified`` row with bad bytes, and a
restore afterwards always yields the newest good snapshot.

Each kill is one real process (forked from ``backup_zygote.py``, which ran ``django.setup()`` once)
that writes to the live store and backs the session up in a loop until this test SIGKILLs it at a
moment drawn uniformly over two and a half loop turns. After every kill each new verified row is opened
again (checksum, decryption, parse, row counts, content digest); every ``RESTORE_EVERY`` kills and
at the end the live store is wiped and the restore chain must bring back the newest verified row's
rows, every table, exactly.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.sessions_store.factories import make_paired_store

ROOT = Path(__file__).resolve().parents[2]
ZYGOTE = ROOT / "tests" / "reliability" / "backup_zygote.py"
SESSION = "kills"
KILLS = int(os.environ.get("RELIABILITY_KILLS", "200"))
MIN_KILLS = 100
# The loop stops adding kills after this many seconds once MIN_KILLS are done: 200 kills take 9-40 s
# on SQLite and 30-55 s on PostgreSQL on the shared 2-core machine (a turn there costs 100-170 ms when
# the machine is loaded). The figure prints how many of KILLS were done.
BUDGET_SECONDS = float(os.environ.get("RELIABILITY_KILL_SECONDS", "30"))
RESTORE_EVERY = 25
SEED = 20261128

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True), pytest.mark.timeout(240)]


class Zygote:
    """The warm process: one command line in, one answer line out (log lines in between are kept)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.stderr = open(log, "w")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [sys.executable, str(ZYGOTE), SESSION],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.log = log
        self.child: int | None = None
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("READY", timeout=60)

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")

    def expect(self, prefix: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {prefix} line within {timeout}s; see {self.log}") from None
            if line == "" and self.proc.poll() is not None:
                tail = self.log.read_text()[-2000:]
                raise AssertionError(f"the zygote ended (rc={self.proc.returncode}) before {prefix}: {tail}")
            if line.startswith(prefix + " ") or line == prefix:
                return line[len(prefix) + 1 :]

    def ask(self, command: str, answer: str, timeout: float = 30) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.expect(answer, timeout)

    def fork(self, k: int) -> int:
        self.child = int(self.ask(f"fork {k}", "PID"))
        return self.child

    def reap(self, pid: int) -> tuple[int, str]:
        died_of, step = self.ask(f"reap {pid}", "REAPED").split()[1:]
        self.child = None
        return int(died_of), step

    def close(self) -> None:
        if self.child is not None:  # a failed assertion left a child running
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.child, signal.SIGKILL)
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=15)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=15)
            self.stderr.close()


@pytest.fixture
def zygote(shared_db_env, tmp_path):
    make_paired_store(SESSION)
    z = Zygote(shared_db_env, tmp_path / "zygote.log")
    yield z
    z.close()


def test_sigkill_at_random_moments_of_200_backups_never_leaves_a_bad_verified_row(zygote):
    rng = random.Random(SEED)
    started = time.monotonic()
    per_turn = float(zygote.ask("calibrate 3", "CALIBRATED"))
    window = 2.5 * per_turn
    steps: Counter[str] = Counter()
    bad: list = []
    checked = kills = 0
    restores: list[dict] = []
    while kills < KILLS and (kills < MIN_KILLS or time.monotonic() - started < BUDGET_SECONDS):
        pid = zygote.fork(kills)
        # The kill moment is what this test varies: the child runs undisturbed until then.
        time.sleep(rng.uniform(0, window))
        os.kill(pid, signal.SIGKILL)
        died_of, step = zygote.reap(pid)
        assert died_of == signal.SIGKILL, f"child {kills} ended by itself ({died_of}); see {zygote.log}"
        kills += 1
        steps[step] += 1
        check = json.loads(zygote.ask("check", "CHECK"))
        checked += len(check["new"])
        bad += check["bad"]
        if kills % RESTORE_EVERY == 0:
            restores.append(json.loads(zygote.ask("restore", "RESTORE", timeout=60)))
    restores.append(json.loads(zygote.ask("restore", "RESTORE", timeout=60)))
    seconds = time.monotonic() - started
    print(
        f"\nFIGURE backup_kills kills={kills} of={KILLS} verified_rows_checked={checked} bad_verified_rows={len(bad)} "
        f"failed_rows={restores[-1]['failed_rows']} restores={len(restores)} "
        f"newest_restored={sum(r['restored'] == r['expected'] and r['same_content'] for r in restores)} "
        f"seconds={seconds:.1f} turn_ms={per_turn * 1000:.1f} "
        f"kill_steps={json.dumps(dict(sorted(steps.items())), separators=(',', ':'))}"
    )
    assert bad == []
    assert checked >= kills // 6, "too few backups finished between kills to prove anything"
    for restore in restores:
        assert restore["store_before"] == "healthy", "a kill left the live store unhealthy"
        assert restore["source"] == "backup" and restore["failures"] == []
        assert restore["restored"] == restore["expected"] and restore["same_content"], json.dumps(restore)
    # Kills landed inside the backup itself, not only between backups.
    assert sum(steps[s] for s in ("snapshot", "encode", "encrypt", "verify", "insert")) > 0
