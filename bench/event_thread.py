"""Time a message event spends on Go's event thread, against a floor measured in the same run.

Go's event queue holds 100 events and blocks when it is full, so our handler must be cheap. Ours:
neonize's own ``Event.execute`` (bytes -> ``MessageEv``) -> ``NeonizeTransport``'s handler, which
parks the event for its translator thread (translation to ``IncomingMessage`` and the put on the
runtime's bounded inbox happen there, off Go's thread; the run checks every event arrived). The floor: the least a handler can do,
measured the same way (CPU time of the calling thread, so GIL waits do not count): ``Event.execute`` whose handler reads the id, chat and text fields and puts
a tuple on a ``SimpleQueue``. Goal: ours at most 3x the floor per event.

    python bench/event_thread.py [--events 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import queue
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_tmp = tempfile.mkdtemp(prefix="blacksky-bench-events-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ["BLACKSKY_DOTENV"] = "0"
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench.sqlite3"
os.environ["LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from neonize.events import EVENT_TO_INT, MessageEv  # noqa: E402

from bot.child.runtime import BotRuntime  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from tests.bot.fixtures.neonize_events import GROUP, device_jid, make_msg_ev  # noqa: E402
from tests.support.routers import PingRouter  # noqa: E402

GOAL_RATIO = 3.0
CODE = EVENT_TO_INT[MessageEv]


def payloads(count: int) -> list[tuple[ctypes.Array, int]]:
    out = []
    for n in range(count):
        sender = device_jid(f"{98765432100000 + n % 500}", 2, "lid")
        ev = make_msg_ev(
            f".hug @1555000{n % 1000:04d}",
            chat=GROUP,
            sender=sender,
            sender_alt=device_jid(f"1555{n % 500:07d}", 2),
            msg_id=f"BENCH{n:09d}",
            mentions=(f"1555000{n % 1000:04d}@s.whatsapp.net",),
        )
        data = ev.SerializeToString()
        out.append((ctypes.create_string_buffer(data, len(data)), len(data)))
    return out


def run(client, items) -> float:
    """CPU seconds per event on the calling thread (the stand-in for Go's): waiting for the GIL excluded."""
    started = time.thread_time()
    for buf, size in items:
        client.event.execute(client.uuid, ctypes.addressof(buf), size, CODE)
    return (time.thread_time() - started) / len(items)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    items = payloads(args.events)

    ours = NeonizeTransport(session_name="bench-ours", dsn=f"{_tmp}/ours.sqlite3")
    runtime = BotRuntime(
        transport=ours, session_name="bench-ours", router=PingRouter(), inbox_size=args.events * args.rounds + 10
    )
    floor = NeonizeTransport(session_name="bench-floor", dsn=f"{_tmp}/floor.sqlite3")
    floor_queue: queue.SimpleQueue = queue.SimpleQueue()

    def minimal(client, ev) -> None:
        floor_queue.put((ev.Info.ID, ev.Info.MessageSource.Chat.User, ev.Message.extendedTextMessage.text))

    floor.client.event(MessageEv)(minimal)

    ours_best = floor_best = float("inf")
    for _ in range(args.rounds):
        floor_best = min(floor_best, run(floor.client, items))
        ours_best = min(ours_best, run(ours.client, items))
    assert ours.flush(timeout=120)
    queued = runtime.inbox.qsize()
    assert queued == args.events * args.rounds, f"only {queued} events reached the inbox"
    ratio = ours_best / floor_best
    print(f"events: {args.events} x {args.rounds} rounds, best round per event")
    print(f"ours  (parse + hand-off):             {ours_best * 1e6:8.2f} us/event")
    print(f"floor (parse + minimal handler):     {floor_best * 1e6:8.2f} us/event")
    print(f"ratio {ratio:.2f} (goal <= {GOAL_RATIO})")
    print(
        f"RESULT event_thread_us value={ours_best * 1e6:.2f} floor={floor_best * 1e6:.2f} "
        f"ratio={ratio:.2f} goal={GOAL_RATIO}"
    )
    return 0 if ratio <= GOAL_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
