"""Does the cost of /stats grow with history? Two sessions in one database: one with 2 days of
history (the minute rows kept before roll-up), one with 30 days. Their uncached per-session
snapshots are timed alternately (so load from elsewhere hits both alike) and the medians compared.
Goal <= 1.5: every read is bounded by a time window or a row limit and runs on an index.

Database: PostgreSQL on 127.0.0.1:5432 when it answers (a temporary database), else (or with
``--sqlite``) SQLite. A second pair: 30 days with 100,000 connection/reconnect events against 2 days
with 1,000 (``stats_snapshot_100k_events``).
Runs as `python bench/stats_history.py [--sqlite]`; prints `RESULT stats_snapshot_30d_over_2d ...`.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
GOAL = 1.5
REPEAT = 40
PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"]


def _database_url(work: Path) -> tuple[str, str]:
    if "--sqlite" in sys.argv:
        return f"sqlite:///{work / 'db.sqlite3'}", ""
    name = f"blacksky_bench_history_{os.getpid()}"
    try:
        subprocess.run([*PSQL, f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=30)
        return f"postgres://postgres@127.0.0.1:5432/{name}", name
    except (OSError, subprocess.SubprocessError):
        return f"sqlite:///{work / 'db.sqlite3'}", ""


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="blacksky-bench-history-"))
    url, pg_name = _database_url(work)
    os.environ.update(
        {
            "DATABASE_URL": url,
            "BLACKSKY_DOTENV": "0",
            "DJANGO_SETTINGS_MODULE": "blacksky_site.settings",
            "SECRET_KEY": "bench-history-secret",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            "MEDIA_STARTER_PACK": "false",
            "WA_STORE_DIR": str(work / "wa"),
            "MEDIA_ROOT": str(work / "media"),
        }
    )
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        from _stats_seed import seed

        from ops.selectors.stats import session_stats

        seed(days=2, session_name="short", events_per_day=1000, rng=random.Random(1))
        seed(days=30, session_name="long", events_per_day=1000, rng=random.Random(2))
        # 100,000 connection/reconnect events over 30 days against 2 days and 1,000 events
        seed(days=2, session_name="few", events_per_day=500, rng=random.Random(3))
        seed(days=30, session_name="many", events_per_day=100_000 // 30, rng=random.Random(4))
        names = ("short", "long", "few", "many")
        timings: dict[str, list[float]] = {name: [] for name in names}
        for name in names:
            session_stats(session_name=name)  # warm
        for _ in range(REPEAT):
            for name in names:
                started = time.perf_counter()
                session_stats(session_name=name)
                timings[name].append((time.perf_counter() - started) * 1000)
        connection.close()
    finally:
        if pg_name:
            subprocess.run([*PSQL, f"DROP DATABASE IF EXISTS {pg_name}"], capture_output=True, timeout=60)
    short, long = statistics.median(timings["short"]), statistics.median(timings["long"])
    ratio = long / short
    print(f"database {url.split(':')[0]}: per-session snapshot {short:.1f} ms with 2 days, {long:.1f} ms with 30 days")
    print(f"RESULT stats_snapshot_30d_over_2d value={long:.2f}ms floor={short:.2f}ms ratio={ratio:.2f} goal=<={GOAL}")
    few, many = statistics.median(timings["few"]), statistics.median(timings["many"])
    print(f"per-session snapshot {few:.1f} ms with 2 days and 1,000 events, {many:.1f} ms with 30 days and 100,000")
    print(
        f"RESULT stats_snapshot_100k_events value={many:.2f}ms floor={few:.2f}ms ratio={many / few:.2f} goal=<={GOAL}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
