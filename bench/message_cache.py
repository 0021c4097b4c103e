"""What keeping a message for anti-delete costs, against a floor measured in the same run.

Ours: ``HistoryKeeper.observe`` of a text message in a chat with anti-delete on: the switch read
from memory, AES-256-GCM of the text under the session's derived key, one INSERT, and the two
eviction reads (chat cap, session cap), with the chat kept at its cap so every insert also evicts.
The floor: the same row (content precomputed, no encryption, no eviction) written with one ORM
INSERT: the least any database-backed cache must do per message. Goal: at most 3x the floor.
Also reported: a delete of a kept message through ``HistoryKeeper.handle`` (lookup, decrypt,
delete, repost text), and a delete of a message not kept (one indexed lookup).

    python bench/message_cache.py [--messages 2000] [--rounds 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import time

from _django_bench import django_bench_setup  # noqa: E402

django_bench_setup("blacksky-bench-cache-", ANTIDELETE_MAX_PER_CHAT="500")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from bot.dispatch.history import HistoryKeeper  # noqa: E402
from bot.models import CachedMessage  # noqa: E402
from bot.transport.base import IncomingMessage, MessageRevoked  # noqa: E402

GOAL_RATIO = 3.0
CHAT = "120363000000000042@g.us"
SENDER = "15550001234@s.whatsapp.net"
TEXT = "see you at the station at half past five, bring the tickets"


def messages(n: int, tag: str) -> list[IncomingMessage]:
    return [IncomingMessage(id=f"{tag}{i:07d}", chat=CHAT, sender=SENDER, text=TEXT, is_group=True) for i in range(n)]


def run_ours(keeper: HistoryKeeper, batch: list[IncomingMessage]) -> float:
    started = time.perf_counter()
    for message in batch:
        keeper.observe(message)
    return time.perf_counter() - started


def run_floor(batch: list[IncomingMessage]) -> float:
    content = b"\x00" * (12 + 16 + len(TEXT) + 40)  # what the ciphertext weighs
    now = timezone.now()
    started = time.perf_counter()
    for message in batch:
        CachedMessage.objects.create(
            session_name="floor",
            chat=message.chat,
            message_id=message.id,
            sender=message.sender,
            kind="text",
            sent_at=now,
            key_id="00000000",
            content=content,
        )
    return time.perf_counter() - started


def run_deletes(keeper: HistoryKeeper, ids: list[str]) -> float:
    started = time.perf_counter()
    for n, target in enumerate(ids):
        keeper._budget.clear()  # the per-chat repost budget would turn most into counts: time the repost path
        keeper.handle(MessageRevoked(id=f"R{target}{n}", chat=CHAT, sender=SENDER, target_id=target, is_group=True))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each side counts")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    args = parser.parse_args()
    call_command("migrate", verbosity=0, interactive=False)
    CachedMessage.objects.all().delete()
    keeper = HistoryKeeper(session_name="bench")
    keeper.chat_set(CHAT, antidelete=True)
    run_ours(keeper, messages(600, "W"))  # warm up, and fill the chat to its cap: every insert evicts
    ours_times, floor_times = [], []
    for round_no in range(args.rounds):
        ours_times.append(run_ours(keeper, messages(args.messages, f"O{round_no}-")))
        floor_times.append(run_floor(messages(args.messages, f"F{round_no}-")))
        CachedMessage.objects.filter(session_name="floor").delete()
    kept = list(CachedMessage.objects.filter(session_name="bench").values_list("message_id", flat=True)[:300])
    delete_s = run_deletes(keeper, kept)
    unknown_s = run_deletes(keeper, [f"GONE{i}" for i in range(300)])
    count = args.messages
    ours_us, floor_us = min(ours_times) / count * 1e6, min(floor_times) / count * 1e6
    ratio = ours_us / floor_us
    print(f"database: {connection.vendor}; messages: {count} x {args.rounds} rounds, chat kept at 500")
    print(f"ours : {ours_us:9.1f} us per kept message (encrypt, insert, evict)")
    print(f"floor: {floor_us:9.1f} us per plain insert")
    print(f"ratio: {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)")
    print(
        f"delete of a kept message: {delete_s / len(kept) * 1e6:9.1f} us; of an unknown one: {unknown_s / 300 * 1e6:9.1f} us"
    )
    print(
        f"RESULT message_cache_keep_us value={ours_us:.1f} floor={floor_us:.1f} ratio={ratio:.2f} goal=<={GOAL_RATIO:g}x"
    )
    print(f"RESULT message_cache_delete_us value={delete_s / len(kept) * 1e6:.1f} goal=reported")
    print(f"RESULT message_cache_unknown_delete_us value={unknown_s / 300 * 1e6:.1f} goal=reported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
