"""Commands per second through the whole dispatch path, against a floor measured in the same run.

Ours: incoming text commands (``.uptime``, ``.alive``, ``.help ping``, ``.8ball ...``, plus plain
chat) from 500 users -> ``Router.handle`` (dedup, state, parse, lookup, permissions, user limits,
context, the real handler) -> ``Outbound.send`` (pacing limits off, typing off) -> the in-memory
transport, with dispatch stats on. The floor: the same texts through the same parser
(``parse_command``: prefix, word, shell-style args), a dict lookup and a no-op handler. Goal: our
time per message at most 5x the floor's.

    python bench/dispatch.py [--messages 20000]
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
from bot.dispatch.parsing import parse_command  # noqa: E402
from bot.limits import PacingConfig  # noqa: E402
from bot.transport.base import IncomingMessage  # noqa: E402
from bot.transport.memory import MemoryTransport  # noqa: E402

GOAL_RATIO = 5.0
TEXTS = (
    ".uptime",
    ".alive",
    ".help ping",
    '.8ball "will it work?" really',
    "just chatting, no command here",
    ".UPTIME",
)


def make_messages(count: int) -> list[IncomingMessage]:
    messages = []
    for n in range(count):
        user = f"1555{n % 500:07d}@s.whatsapp.net"
        messages.append(IncomingMessage(id=f"BENCH{n:09d}", chat=user, sender=user, text=TEXTS[n % len(TEXTS)]))
    return messages


def run_ours(messages: list[IncomingMessage]) -> tuple[float, int]:
    transport = MemoryTransport()
    router = build_router(
        transport=transport, session_name="bench", pacing=PacingConfig(enabled=False), stats_enabled=True
    )
    router.handle(IncomingMessage(id="WARMUP", chat="1@s.whatsapp.net", sender="1@s.whatsapp.net", text=".help"))
    for spec in router.registry.specs():  # import every module the run will use before timing
        if spec.name in {"uptime", "alive", "help", "8ball"}:
            router.registry.handler(spec.name)
    handle, send = router.handle, router.outbound.send
    started = time.perf_counter()
    for message in messages:
        for reply in handle(message).replies:
            send(reply)
    took = time.perf_counter() - started
    assert router.stats.total_errors == 0, "a handler failed during the bench"
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
    args = parser.parse_args()
    call_command("migrate", verbosity=0, interactive=False)
    messages = make_messages(args.messages)

    run_floor(messages[:1000])  # warm both paths
    ours_s, sent = run_ours(messages)
    floor_s = min(run_floor(messages) for _ in range(3))
    ours_rate = len(messages) / ours_s
    floor_rate = len(messages) / floor_s
    ratio = ours_s / floor_s
    print(f"messages: {len(messages)}, replies sent: {sent}")
    print(f"ours : {ours_rate:12,.0f} msg/s  ({ours_s / len(messages) * 1e6:7.2f} us/msg)")
    print(f"floor: {floor_rate:12,.0f} msg/s  ({floor_s / len(messages) * 1e6:7.2f} us/msg)")
    print(f"ratio: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)")
    print(
        f"RESULT dispatch_msgs_per_s value={ours_rate:.0f} floor={floor_rate:.0f} ratio={ratio:.2f} goal=<={GOAL_RATIO:g}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
