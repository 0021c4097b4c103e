"""A stand-in supervisor for the lease process tests: wait for the lease, keep it, report what happens.

    python tests/bot/lease_holder.py --session default --ttl 2 --interval 0.5 --poll 0.1 [--clock-offset S]

Prints ``EVENT {json}`` lines on stdout (logs go there too): ``acquired`` and ``renewed`` with the
``now`` the database compared against and the ``expires`` it holds until (``acquired`` also has
``at``, read after the takeover committed), ``lost`` with the reason
(then exit 3, as a supervisor stops its child), ``released`` on SIGTERM (exit 0). ``--clock-offset``
plays a host whose clock runs ahead.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from sessions_store.lease import LeaseKeeper, lease_release, lease_token, lease_wait  # noqa: E402


def emit(event: str, **fields: object) -> None:
    print("EVENT " + json.dumps({"event": event, "pid": os.getpid(), **fields}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--session", default="default")
    parser.add_argument("--ttl", type=float, default=2.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--poll", type=float, default=0.1)
    parser.add_argument("--clock-offset", type=float, default=0.0)
    args = parser.parse_args()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    offset = timedelta(seconds=args.clock_offset)

    def clock():
        return timezone.now() + offset

    emit("started")
    lease = lease_wait(
        session_name=args.session,
        holder_host=socket.gethostname(),
        holder_pid=os.getpid(),
        token=lease_token(),
        ttl=args.ttl,
        poll=args.poll,
        wait=stop.wait,
        clock=clock,
    )
    if lease is None:
        emit("gave_up")
        return 0
    emit(
        "acquired",
        fencing=lease.fencing,
        now=lease.acquired_at.timestamp(),  # the time the database compared the old expiry against
        at=clock().timestamp(),  # after the takeover committed: from here on this process holds it
        expires=lease.expires_at.timestamp(),
    )

    lost: list[str] = []
    keeper = LeaseKeeper(lease=lease, on_lost=lost.append, interval=args.interval, clock=clock)
    while not stop.wait(0.02):
        renewals = keeper.renewals
        now = clock()
        held = keeper.step(now)
        if keeper.renewals > renewals:
            emit("renewed", fencing=lease.fencing, now=now.timestamp(), expires=lease.expires_at.timestamp())
        if not held:
            emit("lost", fencing=lease.fencing, reason=lost[0], now=now.timestamp())
            return 3
    ended = clock()
    lease_release(lease=lease)
    emit("released", fencing=lease.fencing, now=ended.timestamp())
    return 0


if __name__ == "__main__":
    sys.exit(main())
