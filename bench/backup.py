"""Session backup and restore of a 10 MiB whatsmeow store (the SQLite file), against a floor measured in the same run.

Ours (backup): ``backup_create`` end to end: consistent snapshot, archive encoding, zstd,
AES-256-GCM, SHA-256, reading it all back to verify, and the database write of the row.
Floor (backup): what a bare copy costs: the SQLite online backup API into a file plus the ``zstd -3``
command line on that file, no database write, no verification.
Ours (restore): ``session_restore_chain`` after the store was wiped: checksum, decryption,
decompression, parsing, a fresh store written and swapped in, its health checked. Floor (restore):
``zstd -d`` of the floor's file next to the store, fsync, rename into place (a cold copy back).
Goals: backup at most 1.5x its floor, restore at most 2x. Also reported: ``session_restore_sqlite_rows_s``,
SQLite alone copying the same rows into a fresh store (``INSERT ... SELECT`` from the attached file,
no Python, no decryption): what any restore that writes rows (not a file image) pays at least.

    python bench/backup.py [--megabytes 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_tmp = Path(tempfile.mkdtemp(prefix="blacksky-bench-backup-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ["BLACKSKY_DOTENV"] = "0"
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench.sqlite3"
os.environ["WA_STORE_DIR"] = str(_tmp / "wa")
os.environ["LOG_LEVEL"] = "WARNING"
for _name in ("WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE", "HEROKU_API_KEY"):
    os.environ.pop(_name, None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from sessions_store.services import backup_create, session_restore_chain  # noqa: E402
from tests.sessions_store.factories import fill_store, make_paired_store  # noqa: E402

BACKUP_GOAL, RESTORE_GOAL = 1.5, 2.0
ZSTD = shutil.which("zstd") or "/usr/bin/zstd"


def floor_backup(path: Path, out: Path) -> tuple[float, Path]:
    started = time.perf_counter()
    source = sqlite3.connect(path)
    target = sqlite3.connect(out)
    source.backup(target)
    target.close()
    source.close()
    compressed = out.with_suffix(".zst")
    subprocess.run([ZSTD, "-3", "-q", "-f", str(out), "-o", str(compressed)], check=True)
    took = time.perf_counter() - started
    out.unlink()
    return took, compressed


def floor_restore(compressed: Path, target: Path) -> float:
    scratch = target.with_name(f".{target.name}.floor")
    started = time.perf_counter()
    subprocess.run([ZSTD, "-d", "-q", "-f", str(compressed), "-o", str(scratch)], check=True)
    with open(scratch, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(scratch, target)
    took = time.perf_counter() - started
    target.unlink()
    compressed.unlink()
    return took


def sqlite_rows_copy(path: Path, target: Path) -> float:
    from sessions_store.whatsmeow_schema import DDL, TABLES

    started = time.perf_counter()
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute(f"ATTACH DATABASE '{path}' AS source")
    conn.execute("BEGIN")
    for statement in DDL:
        conn.execute(statement)
    for table in TABLES:
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM source.{table}")
    conn.execute("COMMIT")
    conn.close()
    with open(target, "rb+") as handle:
        os.fsync(handle.fileno())
    took = time.perf_counter() - started
    target.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    store = make_paired_store("bench")
    filled = 0
    while store.path.stat().st_size < args.megabytes * 1024 * 1024:  # the store file, not the row bytes
        filled = fill_store(store, megabytes=0.5, first=filled)
    file_mb = store.path.stat().st_size / 1024 / 1024
    print(f"store: {store.path} {file_mb:.1f} MiB on disk")

    floor_b, floor_r, ours_b, ours_r, rows_copy = [], [], [], [], []
    scratch = _tmp / "floor.sqlite3"
    for _ in range(args.rounds):
        took, compressed = floor_backup(store.path, scratch)
        floor_b.append(took)
        floor_r.append(floor_restore(compressed, store.directory / "floor-target.sqlite3"))
        rows_copy.append(sqlite_rows_copy(store.path, _tmp / "rows-copy.sqlite3"))

        started = time.perf_counter()
        backup = backup_create(session_name="bench", reason="manual")
        ours_b.append(time.perf_counter() - started)
        assert backup is not None and backup.state == "verified", backup

        saved = _tmp / "saved.sqlite3"
        shutil.copyfile(store.path, saved)
        store.wipe()
        started = time.perf_counter()
        outcome = session_restore_chain(session_name="bench")
        ours_r.append(time.perf_counter() - started)
        assert outcome.source == "backup", outcome
        print(
            f"round: backup {ours_b[-1]:.3f}s (floor {floor_b[-1]:.3f}s), restore {ours_r[-1]:.3f}s "
            f"(floor {floor_r[-1]:.3f}s), archive {backup.raw_size / 1e6:.1f} MB raw -> {backup.stored_size / 1e6:.1f} MB"
        )
        saved.unlink()

    backup_s, backup_floor = min(ours_b), min(floor_b)
    restore_s, restore_floor = min(ours_r), min(floor_r)
    print(
        f"RESULT session_restore_s value={restore_s:.3f} floor={restore_floor:.3f} "
        f"ratio={restore_s / restore_floor:.2f} goal=<={RESTORE_GOAL:g}x"
    )
    print(
        f"RESULT session_restore_sqlite_rows_s value={min(rows_copy):.3f} floor={restore_floor:.3f} "
        f"ratio={min(rows_copy) / restore_floor:.2f} goal=reported"
    )
    print(
        f"RESULT session_backup_s value={backup_s:.3f} floor={backup_floor:.3f} "
        f"ratio={backup_s / backup_floor:.2f} goal=<={BACKUP_GOAL:g}x"
    )
    shutil.rmtree(_tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
