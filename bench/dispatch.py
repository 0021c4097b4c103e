"""Commands per second through the whole dispatch path, against a floor measured in the same run.

Ours: incoming text commands (``.uptime``, ``.alive``, ``.help ping``, ``.8ball ...``, plus plain
chat) from 500 users through the child's dispatcher path: batches of up to ``DISPATCH_BATCH``
messages (what a dispatcher takes from a backlog), their handled ids read in one query, each
through ``Router.handle`` (dedup, state, parse, lookup, permissions, user limits, context, the real
handler), then every reply and handled id written to the outbox in one transaction, with dispatch
stats on. The floor: the same texts through the same parser (``parse_command``: prefix, word,
shell-style args), a dict lookup and a no-op handler. Goal: our time per message at most 5x the
floor's (the durable write breaks it; the figure says by how much).

Also reported: the same path one message per transaction (no backlog to share a commit), and the
sender's cost per reply (claim, send through the in-memory transport, mark sent; pacing off).

    python bench/dispatch.py [--messages 20000] [--rounds 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import time

from _django_bench import django_bench_setup  # noqa: E402

django_bench_setup(
    "blacksky-bench-dispatch-",
    USER_COMMANDS_PER_MINUTE="0",  # 500 users hammering: per-user limits would refuse most
    OUTBOUND_PER_MINUTE="0",  # pacing limits off (the condition)
)

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bot.child.dispatching import DISPATCH_BATCH  # noqa: E402
from bot.child.sending import OutboxSender  # noqa: E402
from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.dispatch.parsing import parse_command  # noqa: E402
from bot.models import HandledMessage, OutboxItem  # noqa: E402
from bot.outbox import outbox_enqueue_many  # noqa: E402
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
        msg_id = f"BENCH{round_no:03d}{n:09d}"  # fresh ids per round: the router handles each id once
        messages.append(IncomingMessage(id=msg_id, chat=user, sender=user, text=TEXTS[n % len(TEXTS)]))
    return messages


def fresh_router():
    transport = MemoryTransport()
    router = build_router(transport=transport, session_name="bench", pacing=PacingConfig(enabled=False))
    router.handle(IncomingMessage(id="WARMUP", chat="1@s.whatsapp.net", sender="1@s.whatsapp.net", text=".help"))
    for name in ("uptime", "alive", "help", "8ball"):  # import the modules the run uses before timing
        router.registry.handler(name)
    return router, transport


def run_ours(messages: list[IncomingMessage], *, batch: int = DISPATCH_BATCH) -> tuple[float, int]:
    """The dispatcher's path (``bot.child.dispatching``): handle a batch, queue its replies in one go."""
    router, _transport = fresh_router()
    handle, prefetch = router.handle, router.answered_before.prefetch
    queued = 0
    started = time.perf_counter()
    for start in range(0, len(messages), batch):
        chunk = messages[start : start + batch]
        prefetch([m.id for m in chunk])
        entries = []
        for message in chunk:
            result = handle(message)
            if result.replies or result.command:
                entries.append((message.id, result.replies))
                queued += len(result.replies)
        outbox_enqueue_many(session_name="bench", entries=entries)
    took = time.perf_counter() - started
    assert router.stats.totals.errors == 0, "a handler failed during the bench"
    return took, queued


def run_handle_only(messages: list[IncomingMessage]) -> float:
    """The same handling without the persisted handled ids and with the replies dropped: what the
    outbox (reading and writing handled ids, writing replies) adds is ours minus this."""
    router, _transport = fresh_router()
    router.answered_before = lambda message_id: False
    handle = router.handle
    started = time.perf_counter()
    for message in messages:
        handle(message)
    return time.perf_counter() - started


def run_sender(count: int) -> tuple[float, int]:
    """Drain ``count`` queued replies one ``step`` at a time: claim, send, mark sent."""
    router, transport = fresh_router()
    sender = OutboxSender(session_name="bench", outbound=router.outbound, stats=router.stats)
    started = time.perf_counter()
    while len(transport.sent) < count and sender.step():
        pass
    return time.perf_counter() - started, len(transport.sent)


def clear_outbox() -> None:
    OutboxItem.objects.all().delete()
    HandledMessage.objects.all().delete()


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
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument("--single", type=int, default=500, help="messages for the one-per-transaction figure")
    args = parser.parse_args()
    call_command("migrate", verbosity=0, interactive=False)
    clear_outbox()

    run_floor(make_messages(1000))  # warm both paths
    run_ours(make_messages(1000, round_no=99))
    ours_times, floor_times, handle_times, queued = [], [], [], 0
    for round_no in range(args.rounds):  # interleaved, so a noisy neighbour hurts both sides alike
        messages = make_messages(args.messages, round_no=round_no)
        took, queued = run_ours(messages)
        ours_times.append(took)
        floor_times.append(run_floor(messages))
        handle_times.append(run_handle_only(make_messages(args.messages, round_no=200 + round_no)))
        clear_outbox()
    single_messages = make_messages(args.single, round_no=100)
    single_s, _ = run_ours(single_messages, batch=1)
    single_floor_s = run_floor(single_messages)
    clear_outbox()
    sends = min(2000, args.messages)
    run_ours(make_messages(sends * 6 // 5, round_no=101))  # 5 in 6 texts are commands: >= sends replies
    sender_s, sent = run_sender(sends)
    ours_s, floor_s = min(ours_times), min(floor_times)
    count = args.messages
    ours_rate, floor_rate = count / ours_s, count / floor_s
    ratio = ours_s / floor_s
    single_ratio = (single_s / args.single) / (single_floor_s / args.single)
    print(
        f"database: {connection.vendor}; messages: {count} x {args.rounds} rounds, replies queued per round: {queued}"
    )
    print(f"ours : {ours_rate:12,.0f} msg/s  ({ours_s / count * 1e6:9.2f} us/msg, batches of {DISPATCH_BATCH})")
    print(f"floor: {floor_rate:12,.0f} msg/s  ({floor_s / count * 1e6:9.2f} us/msg)")
    print(f"ratio: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)")
    handle_s = min(handle_times)
    print(
        f"without the outbox write: {handle_s / count * 1e6:9.2f} us/msg ({handle_s / floor_s:.2f}x the floor); "
        f"the outbox adds {(ours_s - handle_s) / count * 1e6:.2f} us/msg"
    )
    print(f"one message per transaction: {single_s / args.single * 1e6:9.2f} us/msg, ratio {single_ratio:.1f}x")
    print(f"sender: {sender_s / max(1, sent) * 1e6:9.2f} us per reply sent ({sent} replies)")
    print(
        f"RESULT dispatch_msgs_per_s value={ours_rate:.0f} floor={floor_rate:.0f} ratio={ratio:.2f} goal=<={GOAL_RATIO:g}x"
    )
    print(f"RESULT dispatch_outbox_added_us value={(ours_s - handle_s) / count * 1e6:.1f} goal=reported")
    print(f"RESULT dispatch_single_us value={single_s / args.single * 1e6:.1f} ratio={single_ratio:.1f} goal=reported")
    print(f"RESULT outbox_send_us value={sender_s / max(1, sent) * 1e6:.1f} goal=reported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
