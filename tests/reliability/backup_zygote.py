"""A warm process that forks one backup loop per kill (for ``test_backup_kills.py``).

A fresh interpreter plus ``django.setup()`` costs 1.0-1.4 s on the 2-core CI machine under load, so
200 of them do not fit the suite's budget. This process pays that once, then forks one child per
kill: each child is a real process that writes to the live store and backs the session up in a
loop (what the bot does between restarts) until the test SIGKILLs it at a random moment. A page of
shared memory tells which step each child was in when it died.

``python backup_zygote.py SESSION``; one command per line on stdin, one answer line on stdout:

- ``calibrate N``  -> ``CALIBRATED <seconds per loop turn>`` (N turns run here, before any fork)
- ``fork K``       -> ``PID <pid>`` (child K: loop; the killed child's backup lock is taken over, its pid being dead)
- ``reap PID``     -> ``REAPED <pid> <signal number, or -exit code> <step>``
- ``check``        -> ``CHECK <json>`` (every verified row not yet checked, opened again)
- ``restore``      -> ``RESTORE <json>`` (the live store's health; wipe it, run the restore chain, compare)
- ``quit``
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connections  # noqa: E402

from sessions_store import crypto, services  # noqa: E402
from sessions_store.models import SessionBackup  # noqa: E402
from sessions_store.snapshot import ArchiveError, archive_content_digest, archive_encode, archive_from_store  # noqa: E402
from sessions_store.store import store_for  # noqa: E402
from tests.sessions_store.factories import fill_store  # noqa: E402

STEPS = ["idle", "lock", "write_store", "health", "snapshot", "encode", "encrypt", "verify", "insert", "rotate"]
PR_SET_PDEATHSIG = 1
PHASE = mmap.mmap(-1, mmap.PAGESIZE)  # anonymous and shared: the forked children write, we read


def mark(step: str) -> None:
    PHASE[0] = STEPS.index(step)


def _instrument() -> None:
    """Record the step a child is in; behaviour is unchanged (each wrapper calls the real function)."""

    def wrap(owner, name: str, step: str, after: str = "") -> None:
        real = getattr(owner, name)

        def marked(*args, **kwargs):
            mark(step)
            result = real(*args, **kwargs)
            if after:
                mark(after)
            return result

        setattr(owner, name, marked)

    home = sys.modules[services.backup_create.__module__]  # where backup_create looks its helpers up
    real_store_for = home.store_for

    def store_for_marked(name: str):
        store = real_store_for(name)
        real_health = store.health

        def health():
            mark("health")
            return real_health()

        store.health = health
        return store

    home.store_for = store_for_marked
    wrap(home, "archive_from_store", "snapshot")
    wrap(home, "archive_encode", "encode")
    wrap(crypto, "pack", "encrypt")
    wrap(crypto, "unpack", "verify")
    wrap(home, "archive_decode", "verify", after="insert")
    wrap(home, "backups_rotate", "rotate", after="idle")


def turn(session_name: str, first: int) -> int:
    """One loop turn: whatsmeow writes a few rows, then a backup is taken."""
    mark("write_store")
    following = fill_store(store_for(session_name), megabytes=0.0005, first=first)
    mark("idle")
    services.backup_create(session_name=session_name, reason=SessionBackup.Reason.MANUAL)
    return following


def child(session_name: str, k: int, zygote: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # never outlive the zygote
    if os.getppid() != zygote:
        os._exit(4)
    os.dup2(os.open(os.devnull, os.O_RDWR), 0)  # never read the zygote's commands
    os.dup2(2, 1)  # nor write into its answers (log lines go to stdout)
    try:
        mark("lock")
        first = k * 100_000
        while True:
            first = turn(session_name, first)
    except BaseException:
        import traceback

        traceback.print_exc()
        os._exit(3)
    os._exit(0)


def check(session_name: str, checked: set[int]) -> dict:
    """Open every verified row again (checksum, decryption, parse, row counts, content digest)."""
    rows = SessionBackup.objects.filter(session__name=session_name, state=SessionBackup.State.VERIFIED)
    new, bad = [], []
    for backup in rows.exclude(pk__in=checked).order_by("pk"):
        try:
            archive = services.backup_open(backup=backup)
            if archive_content_digest(archive_encode(archive)) != backup.content_sha256:
                raise ArchiveError("the content digest differs from the row's")
        except (ArchiveError, crypto.CryptoError) as exc:
            bad.append([backup.pk, str(exc)])
        new.append(backup.pk)
        checked.add(backup.pk)
    return {"new": new, "bad": bad}


def restore(session_name: str) -> dict:
    """What a wiped disk does to the live store, then the restore chain ``runbot`` runs at start."""
    newest = (
        SessionBackup.objects.filter(session__name=session_name, state=SessionBackup.State.VERIFIED)
        .order_by("-created_at", "-id")
        .first()
    )
    store = store_for(session_name)
    health_before = store.health().status
    store.wipe()
    outcome = services.session_restore_chain(session_name=session_name)
    live = archive_from_store(store) if store.health().healthy else None
    # Same rows in every table; the order a table returns them in is not part of a store (PostgreSQL
    # may return the restored rows in another physical order).
    same = bool(newest and live) and rows_digest(live) == rows_digest(services.backup_open(backup=newest))
    return {
        "expected": newest.pk if newest else None,
        "restored": outcome.backup_id,
        "source": outcome.source,
        "store_before": health_before,
        "failed_rows": SessionBackup.objects.filter(
            session__name=session_name, state=SessionBackup.State.FAILED
        ).count(),
        "same_content": same,
        "failures": outcome.failures,
        "differences": [] if same or not (newest and live) else differences(services.backup_open(backup=newest), live),
    }


def rows_digest(archive) -> dict[str, list[str]]:
    return {t.name: sorted(map(repr, t.rows)) for t in archive.tables}


def differences(backup, live) -> list[str]:
    """Which tables of the restored store differ from the backup, and how (for the failure message)."""
    found = []
    for table in backup.tables:
        other = live.table(table.name)
        if other is None:
            found.append(f"{table.name}: missing")
        elif (other.columns, other.types) != (table.columns, table.types):
            found.append(f"{table.name}: columns {table.columns}/{table.types} -> {other.columns}/{other.types}")
        elif sorted(map(repr, other.rows)) != sorted(map(repr, table.rows)):
            found.append(f"{table.name}: rows {len(table.rows)} -> {len(other.rows)}")
    found += [f"{t.name}: extra" for t in live.tables if backup.table(t.name) is None]
    return found


def main(session_name: str) -> None:
    _instrument()
    checked: set[int] = set()
    print("READY", flush=True)
    for line in sys.stdin:
        command, *args = line.split()
        if command == "calibrate":
            turns = int(args[0])
            started = time.perf_counter()
            first = 10**9
            for _ in range(turns):
                connections.close_all()  # a forked child opens its connections afresh too
                first = turn(session_name, first)
            print(f"CALIBRATED {(time.perf_counter() - started) / turns:.6f}", flush=True)
        elif command == "fork":
            connections.close_all()  # the child opens its own connections
            mark("idle")
            zygote = os.getpid()
            pid = os.fork()
            if pid == 0:
                child(session_name, int(args[0]), zygote)
            print(f"PID {pid}", flush=True)
        elif command == "reap":
            pid, status = os.waitpid(int(args[0]), 0)
            code = os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status)
            print(f"REAPED {pid} {code} {STEPS[PHASE[0]]}", flush=True)
        elif command == "check":
            print("CHECK", json.dumps(check(session_name, checked)), flush=True)
        elif command == "restore":
            print("RESTORE", json.dumps(restore(session_name)), flush=True)
        elif command == "quit":
            return


if __name__ == "__main__":
    main(sys.argv[1])
