"""A process that flushes stats into a shared SQLite file as fast as it can (tests/site/test_sqlite_writers.py).

``python -m tests.site.sqlite_stats_writer START_FILE FLUSHES``: waits for START_FILE (so the
processes start together), then counts one message and flushes, FLUSHES times, into one minute
bucket shared with the other writers, the heaviest contention a bot child meets. Between flushes it
also writes the status row, as the supervisor's heartbeat does. Prints how many flushes failed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import django


def main() -> int:
    start_file, flushes = Path(sys.argv[1]), int(sys.argv[2])
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from bot.dispatch.stats import StatsCollector
    from bot.events import bot_status_heartbeat

    minute = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    stats = StatsCollector(session_name="shared", clock=lambda: minute)
    connection.ensure_connection()
    deadline = time.monotonic() + 60
    while not start_file.exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    failed = 0
    for n in range(flushes):
        stats.incoming()
        if stats.flush() == 0:
            failed += 1
        if n % 5 == 0:
            bot_status_heartbeat(
                session_name="shared",
                at=timezone.now(),
                child_pid=os.getpid(),
                rss_bytes=1,
                messages_in=n,
                messages_out=0,
            )
    while stats._pending and time.monotonic() < deadline:  # what a failure kept goes out now
        stats.flush()
        time.sleep(0.05)
    print(f"failed_flushes={failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
