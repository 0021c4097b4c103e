"""Orphaned temporary and aside stores: found and removed when a session's restore chain starts.

Imported by the restore chain (the supervisor at start, ``restore_session``), under the session's
restore lock. A restore writes a temporary store and swaps it in; a process killed before the swap
leaves it behind (SQLite: ``.<name>.restore-<pid>-<hex>.sqlite3``). A corrupt or stale store is
moved aside, never dropped (``<name>.sqlite3.aside-<time>``, or the schema
``wa_<name>__aside_<time>``). Nothing else removes them, so a crash loop would fill the disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sessions_store.holders import process_start_epoch
from sessions_store.store import ASIDE, TEMP, Leftover, LiveStore, StoreError

logger = logging.getLogger("sessions_store.services")

LEFTOVER_MIN_AGE = 300.0  # seconds: an aside copy stays this long at least, for an operator to look at


def leftovers_to_remove(
    *,
    leftovers: list[Leftover],
    now: float,
    min_age: float = LEFTOVER_MIN_AGE,
    writer_started: Callable[[int], float | None] = process_start_epoch,
) -> list[Leftover]:
    """Which leftovers go (pure; ``created`` and ``now`` are epoch seconds).

    - A temporary store whose writer is known goes once that process is gone, or its pid belongs
      to a process that started after the store was last written; a live writer's store stays.
    - A temporary store without a writer in its name (older code) goes when older than ``min_age``.
    - Aside copies older than ``min_age`` go, except the newest, which stays for an operator.
    """
    doomed = []
    for item in leftovers:
        if item.kind != TEMP:
            continue
        if item.writer_pid is None:
            if now - item.created >= min_age:
                doomed.append(item)
            continue
        started = writer_started(item.writer_pid)
        if started is None or started > item.created + 1.0:  # 1 s: /proc start times have tick precision
            doomed.append(item)
    asides = sorted((i for i in leftovers if i.kind == ASIDE), key=lambda i: (i.created, i.name), reverse=True)
    doomed.extend(item for item in asides[1:] if now - item.created >= min_age)
    return doomed


def store_leftovers_remove(*, store: LiveStore, min_age: float = LEFTOVER_MIN_AGE) -> list[Leftover]:
    """Remove the session's orphaned temporary stores and old aside copies; log what went.

    Call it only while holding the session's restore lock: then no restore of this code is
    writing a temporary store except a live process named in it, whose store stays.
    """
    try:
        found = store.leftovers()
    except StoreError as exc:
        logger.warning("leftovers not checked", extra={"session": store.session_name, "reason": str(exc)})
        return []
    removed = []
    for item in leftovers_to_remove(leftovers=found, now=time.time(), min_age=min_age):
        try:
            store.leftover_remove(item)
        except Exception as exc:  # OSError, StoreError, psycopg's errors: one failure never stops the start
            logger.warning(
                "leftover not removed", extra={"session": store.session_name, "leftover": item.name, "reason": str(exc)}
            )
            continue
        removed.append(item)
    if removed:
        logger.info(
            "leftovers removed",
            extra={
                "session": store.session_name,
                "count": len(removed),
                "bytes": sum(i.size for i in removed),
                "names": ",".join(i.name for i in removed),
            },
        )
    return removed
