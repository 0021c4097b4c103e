"""Who holds a session lock, and whether that holder is provably gone (pure rules plus a /proc probe).

Imported by every process that takes a backup or restore lock: the supervisor (restore chain, final
backup), the bot child (``.backup``, pairing), the django-q2 worker (scheduled backups) and the
management commands. A lock is given up by its holder when it is done; these rules say when
another process may take it without waiting for that:

- the holder ran on this host and its process is gone (no such pid, a zombie) or the pid now
  belongs to another process (its start time in ``/proc/<pid>/stat`` differs from the recorded one);
- the holder owned the session's lease and that lease lapsed or moved on (another fencing number);
- the holder ran on another host without a lease and the lock is older than ``foreign_stale``.

A live holder on this host, or one whose lease is still current, is respected however long it takes.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

# A backup or restore on another host cannot be probed; this long after it started it is presumed
# dead. Generous, because a second backup running beside a slow first one costs only a row.
FOREIGN_STALE = timedelta(minutes=15)


@dataclass(frozen=True)
class Holder:
    """A lock holder as recorded: ``started`` is "<boot id>/<start ticks>" ("" where unknown)."""

    host: str
    pid: int | None
    started: str = ""
    lease_token: str = ""
    lease_fencing: int | None = None

    def __str__(self) -> str:
        lease = f" fencing {self.lease_fencing}" if self.lease_token else ""
        return f"{self.host}:{self.pid}{lease}"


@dataclass(frozen=True)
class LeaseSeen:
    """The session's lease row as read now (None fields when nobody holds it)."""

    token: str
    fencing: int
    expires_at: datetime | None


@functools.cache
def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_started(pid: int) -> str | None:
    """ "<boot id>/<start ticks>" of a live process, "" when alive but not probeable, None when gone.

    A zombie counts as gone: it holds its pid until reaped, but it will never release a lock.
    """
    if pid <= 0:
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        stat = ""
    if stat:
        # The command name (field 2) may hold spaces and parentheses: split after its last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):
            return None
        return f"{_boot_id()}/{fields[19]}"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def process_start_epoch(pid: int) -> float | None:
    """When a live process started (epoch seconds; 0.0 when unknown), None when it is gone."""
    started = process_started(pid)
    if started is None:
        return None
    try:
        ticks = int(started.rsplit("/", 1)[1])
        boot = next(line for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (IndexError, ValueError, StopIteration, OSError):
        return 0.0
    return int(boot.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")


def this_process(*, lease_token: str = "", lease_fencing: int | None = None) -> Holder:
    pid = os.getpid()
    return Holder(socket.gethostname(), pid, process_started(pid) or "", lease_token, lease_fencing)


def holder_gone(
    *,
    holder: Holder,
    acquired_at: datetime | None,
    now: datetime,
    here: str,
    lease: LeaseSeen | None,
    probe: Callable[[int], str | None] = process_started,
    foreign_stale: timedelta = FOREIGN_STALE,
) -> str:
    """Why ``holder`` is provably gone, or "" while it may still be at work (then respect its lock)."""
    if holder.host == here and holder.pid is not None:
        started = probe(holder.pid)
        if started is None:
            return "its process is gone"
        if holder.started and started and started != holder.started:
            return "its pid belongs to another process now"
    if holder.lease_token:
        if lease is None or lease.token != holder.lease_token or lease.fencing != holder.lease_fencing:
            return "its lease moved on"
        if lease.expires_at is None or lease.expires_at <= now:
            return "its lease lapsed"
        return ""
    if holder.host != here and (acquired_at is None or now - acquired_at >= foreign_stale):
        return f"it ran on {holder.host or 'an unknown host'} more than {foreign_stale} ago"
    return ""
