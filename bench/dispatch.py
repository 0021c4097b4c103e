"""Commands per second through the whole dispatch path, against a floor measured in the same run.

Ours: incoming text commands (``.uptime``, ``.alive``, ``.help ping``, ``.8ball ...``, plus plain
chat) from 500 users -> ``Router.handle`` (dedup, state, parse, lookup, permissions, user limits,
context, the real handler) -> ``Outbound.send`` (pacing limits off, typing off) -> the in-memory
transport, with dispatch stats on. The floor: the same texts through the same parser
(``parse_command``: prefix, word, shell-style args), a dict lookup and a no-op handler. Goal: our
time per message at most 5x the floor's.

    python bench/dispatch.py [--messages 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_tmp = tempfile.mkdtemp(prefix="blacksky-bench-dispatch-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
os.environ["BLACKSKY_DOTENV"] = "0"
os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench.sqlite3"
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["USER_COMMANDS_PER_MINUTE"] = "0"  # 500 users hammering: per-user limits would refuse most
os.environ["OUTBOUND_PER_MINUTE"] = "0"  # pacing limits off (the condition)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.dispatch.parsing import parse_command  # noqa: E402
from bot.transport.base import IncomingMessage  # noqa: E402
from tests.support.memory_transport import MemoryTransport  # noqa: E402

GOAL_RATIO = 5.0
TEXTS = (
    ".uptime",
    ".alive",
    ".help ping",
    '.8ball "will it work?" really',
    "just chatting, no command here",
    ".UPTIME",
)


def make_messages(count: int, *, round_no: int = 0) -> list[IncomingMessage]:
    messages = []
    for n in range(count):
        user = f"1555{n % 500:07d}@s.whatsapp.net"
        msg_id = f"BENCH{round_no:02d}{n:09d}"  # fresh ids per round: the router handles each id once
        messages.append(IncomingMessage(id=msg_id, chat=user, sender=user, text=TEXTS[n % len(TEXTS)]))
    return messages


def fresh_router():
    transport = MemoryTransport()
    router = build_router(
        transport=transport, session_name="bench", pacing=PacingConfig(enabled=False)
    )
    router.handle(IncomingMessage(id="WARMUP", chat="1@s.whatsapp.net", sender="1@s.whatsapp.net", text=".help"))
    for name in ("uptime", "alive", "help", "8ball"):  # import the modules the run uses before timing
        router.registry.handler(name)
    return router, transport


def run_ours(messages: list[IncomingMessage]) -> tuple[float, int]:
    router, transport = fresh_router()
    handle, send = router.handle, router.outbound.send
    started = time.perf_counter()
    for message in messages:
        for reply in handle(message).replies:
            send(reply)
    took = time.perf_counter() - started
    assert router.stats.totals.errors == 0, "a handler failed during the bench"
    return took, len(transport.sent)


def run_floor(messages: list[IncomingMessage]) -> float:
    def noop(parsed):
        return None

    table = {"uptime": noop, "alive": noop, "help": noop, "8ball": noop}
    started = time.perf_counter()
    for message in messages:
        parsed = parse_command(message.text, ".")
        if parsed is not None:
            handler = table.get(parsed.word)
            if handler is not None:
                handler(parsed)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best of each side counts")
    args = parser.parse_args()
    call_command("migrate", verbosity=0, interactive=False)

    run_floor(make_messages(1000))  # warm both paths
    run_ours(make_messages(1000, round_no=99))
    ours_times, floor_times, sent = [], [], 0
    for round_no in range(args.rounds):  # interleaved, so a noisy neighbour hurts both sides alike
        messages = make_messages(args.messages, round_no=round_no)
        took, sent = run_ours(messages)
        ours_times.append(took)
        floor_times.append(run_floor(messages))
    ours_s, floor_s = min(ours_times), min(floor_times)
    count = args.messages
    ours_rate, floor_rate = count / ours_s, count / floor_s
    ratio = ours_s / floor_s
    print(f"messages: {count} x {args.rounds} rounds, replies sent per round: {sent}")
    print(f"ours : {ours_rate:12,.0f} msg/s  ({ours_s / count * 1e6:7.2f} us/msg)")
    print(f"floor: {floor_rate:12,.0f} msg/s  ({floor_s / count * 1e6:7.2f} us/msg)")
    print(f"ratio: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)")
    print(
        f"RESULT dispatch_msgs_per_s value={ours_rate:.0f} floor={floor_rate:.0f} ratio={ratio:.2f} goal=<={GOAL_RATIO:g}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
