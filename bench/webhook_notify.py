"""What a connection webhook costs the bot: ``WebhookSender.notify`` while the receiver never answers.

The sender's worker is stuck in a POST to a server on 127.0.0.1 that accepts and never replies, so
every notify meets the worst case (queue filling, then full and dropping). Our value is the mean
cost of one ``notify`` call; the floor is ``queue.Queue.put_nowait`` of the same event measured in
the same run. Goal: at most 10x the floor (a few microseconds: it never waits for the network).

    python bench/webhook_notify.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")

import django  # noqa: E402

django.setup()

from bot.webhooks import WebhookEvent, WebhookSender  # noqa: E402

GOAL_RATIO = 10.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

    silent = socket.socket()  # accepts connections (backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/hook"
    sender = WebhookSender(url=url, secret="bench", timeout=30, retries=0, max_queue=1000, record=None)

    started = time.perf_counter()
    worst = 0.0
    for i in range(args.calls):
        t = time.perf_counter()
        sender.notify(session_name="default", from_state="connected", to_state="reconnecting", reason="bench", at=at)
        worst = max(worst, time.perf_counter() - t)
        if i == 0:
            time.sleep(0.05)  # let the worker pick the first event up and block in its POST
    ours = (time.perf_counter() - started - 0.05) / args.calls

    floor_queue: queue.Queue[object] = queue.Queue(maxsize=1000)
    started = time.perf_counter()
    for _ in range(args.calls):
        try:
            floor_queue.put_nowait(WebhookEvent("default", "connected", "reconnecting", "bench", at))
        except queue.Full:
            pass
    floor = (time.perf_counter() - started) / args.calls

    counters = sender.counters.as_dict()
    sender.close(timeout=0.1)
    silent.close()
    ratio = ours / floor
    print(f"notify: {ours * 1e6:.2f} us/call, worst {worst * 1e3:.2f} ms; put_nowait floor {floor * 1e6:.2f} us/call")
    print(f"queued={counters['queued']} dropped={counters['dropped']} (server never answered)")
    print(
        f"RESULT webhook_notify_us value={ours * 1e6:.2f} floor={floor * 1e6:.2f} ratio={ratio:.2f} goal=<={GOAL_RATIO:g}"
    )
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
