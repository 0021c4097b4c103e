"""Helpers for the runbot process proofs: several real ``manage.py runbot`` processes on one session.

The processes run ``--transport neonize`` with ``bot.transport.neonize.client`` served by
``runbot_fake_neonize.py`` (through ``runbot_site/sitecustomize.py``), so the supervisor takes the
lease, runs the restore chain and takes the shutdown backup exactly as with WhatsApp, while the child
"connects" offline when its store holds a device.

Who was connected when is read back from ``bot_connectionevent``: every row a child writes carries its
``pid`` in ``detail``; a child's connected interval runs from its ``connected`` row to its next row.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.bot.fixtures.processes import ROOT, ChildDb, Runbot

SITE = Path(__file__).resolve().parent / "runbot_site"
LEASE_TTL = 3


def cluster_env(env: dict[str, str], *, store_dir: Path) -> dict[str, str]:
    """``runbot_env`` plus the fake neonize, a short lease and fast heartbeats."""
    env = dict(env)
    env.update(
        {
            "PYTHONPATH": f"{SITE}:{ROOT}",
            "WA_STORE_DIR": str(store_dir),
            "LEASE_TTL": str(LEASE_TTL),
            "HEARTBEAT_TIMEOUT": "2",  # beats every 0.5 s: an orphaned child notices within that
            "SHUTDOWN_GRACE": "20",
            "WA_SESSION_DATA": "",
            "WA_CREDENTIALS": "",
            "WA_AUTH_STATE": "",
            "SESSION_ENCRYPTION_KEY": "",
            "HEROKU_API_KEY": "",
            "HEROKU_APP_NAME": "",
            "CONNECTION_WEBHOOK_URL": "",
        }
    )
    return env


def start_bot(env: dict[str, str], tmp_path: Path, session: str) -> Runbot:
    return Runbot(["--transport", "neonize", "--no-scheduler", "--session", session], env, tmp_path)


def has(bot: Runbot, pattern: str) -> bool:
    return re.search(pattern, bot.log) is not None


def wait_any(bots: list[Runbot], pattern: str, *, timeout: float = 30.0) -> tuple[Runbot, float]:
    """The first of ``bots`` whose log shows ``pattern``, and when (monotonic) it was seen."""
    regex = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        for bot in bots:
            if regex.search(bot.log):
                return bot, time.monotonic()
        if time.monotonic() > deadline:
            logs = "\n---\n".join(bot.log[-2000:] for bot in bots)
            raise AssertionError(f"{pattern!r} in none of {len(bots)} logs within {timeout} s:\n{logs}")
        time.sleep(0.05)


def holder_of(bots: list[Runbot], *, timeout: float = 30.0) -> Runbot:
    """The bot whose child connected (the others must be standing by)."""
    bot, _ = wait_any(bots, r"connection state session=\S+ from=connecting to=connected", timeout=timeout)
    return bot


@dataclass(frozen=True)
class Interval:
    pid: int
    start: datetime
    end: datetime | None  # None: still connected when the rows were read


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace(" ", "T"))


def connected_intervals(db: ChildDb, session: str) -> tuple[list[Interval], int]:
    """Every child's connected intervals from the event rows, and how many rows were read."""
    rows = db.rows(
        "SELECT id, at, to_state, detail FROM bot_connectionevent WHERE session_name = %s ORDER BY at, id", (session,)
    )
    events = []
    for _id, at, to_state, detail in rows:
        detail = json.loads(detail) if isinstance(detail, str) else (detail or {})
        events.append((_as_datetime(at), to_state, detail.get("pid")))
    intervals = []
    for i, (at, to_state, pid) in enumerate(events):
        if to_state != "connected" or pid is None:
            continue
        end = next((later for later, _state, other in events[i + 1 :] if other == pid), None)
        intervals.append(Interval(pid, at, end))
    return intervals, len(rows)


def overlaps(intervals: list[Interval]) -> list[tuple[Interval, Interval]]:
    """Pairs of intervals of different children that were connected at the same time."""
    found = []
    ordered = sorted(intervals, key=lambda i: i.start)
    for n, first in enumerate(ordered):
        for second in ordered[n + 1 :]:
            if first.end is None or second.start < first.end:
                found.append((first, second))
    return found


def report(figure: str, **values: object) -> None:
    """One greppable line per measured figure (run pytest with -s to see them)."""
    print(f"FIGURE {figure} " + " ".join(f"{k}={v}" for k, v in values.items()), flush=True)
