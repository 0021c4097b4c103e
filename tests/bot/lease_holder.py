"""A stand-in supervisor for the lease process tests: wait for the lease, keep it, report what happens.

    python tests/bot/lease_holder.py --session default --ttl 2 --interval 0.5 --poll 0.1 [--clock-offset S]

Prints ``EVENT {json}`` lines on stdout (logs go there too): ``acquired`` and ``renewed`` with the
database's ``expires`` the lease now holds until and the true wall time ``at`` (read after the
statement committed), ``lost`` with the reason (then exit 3, as a supervisor stops its child),
``released`` on SIGTERM (exit 0). ``--clock-offset`` plays a host whose clock is S seconds off:
``time.time``, ``datetime.now`` as Django reads it (``timezone.now``) and the lease code's own clock
are all shifted; the true time in the lines comes from the clock saved before the shift.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

import django  # noqa: E402

django.setup()

from datetime import timedelta  # noqa: E402

from django.utils import timezone  # noqa: E402

from sessions_store.lease import lease_release, lease_token  # noqa: E402
from sessions_store.lease_keeper import LeaseKeeper, lease_wait  # noqa: E402

TRUE_TIME = time.time


def emit(event: str, **fields: object) -> None:
    print("EVENT " + json.dumps({"event": event, "pid": os.getpid(), "at": TRUE_TIME(), **fields}), flush=True)


def skew(offset: float) -> None:
    """Shift every wall clock this process reads (and the lease code's monotonic one) by ``offset`` seconds."""
    if not offset:
        return
    true_now, true_monotonic = timezone.now, time.monotonic
    time.time = lambda: TRUE_TIME() + offset
    timezone.now = lambda: true_now() + timedelta(seconds=offset)
    time.monotonic = lambda: true_monotonic() + offset


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session", default="default")
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    args = parser.parse_args()
    skew(args.clock_offset)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emit("started")
    lease = lease_wait(
        session_name=args.session,
        holder_host=socket.gethostname(),
        holder_pid=os.getpid(),
        token=lease_token(),
        ttl=args.ttl,
        poll=args.poll,
        wait=stop.wait,
        clock=lambda: time.monotonic(),
    )
    if lease is None:
        emit("gave_up")
        return 0
    emit("acquired", fencing=lease.fencing, db_at=lease.acquired_at.timestamp(), expires=lease.expires_at.timestamp())

    lost: list[str] = []
    keeper = LeaseKeeper(lease=lease, on_lost=lost.append, interval=args.interval, clock=lambda: time.monotonic())
    while not stop.wait(0.02):
        renewals = keeper.renewals
        held = keeper.step()
        if keeper.renewals > renewals:
            emit("renewed", fencing=lease.fencing, expires=lease.expires_at.timestamp())
        if not held:
            emit("lost", fencing=lease.fencing, reason=lost[0])
            return 3
    lease_release(lease=lease)
    emit("released", fencing=lease.fencing)
    return 0


if __name__ == "__main__":
    sys.exit(main())
