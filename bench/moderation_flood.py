"""A flood of 1,000 messages in a second from one member, with antispam on, against a floor measured
in the same run.

Ours: 1,000 texts from one member of a group whose antispam is on (level high, action delete),
through ``Router.handle`` the way a dispatcher takes them (50 at a time, their handled ids read in
one query): the flood step per message, the first hit recorded in ``ModerationLog``, every later
message revoked and counted in memory, added to that row by the stats flush (one update). The floor: the same 1,000 texts in a group with no rule on
(the router's own cost: dedup, state, bookkeeping, prefix). Also reported: the moderator's memory
after the flood (one flood state, whatever the flood's size) and the deletes it asked for.

    python bench/moderation_flood.py [--messages 1000] [--rounds 5] [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc

from _django_bench import django_bench_setup  # noqa: E402

django_bench_setup("blacksky-bench-moderation-")

from django.core.management import call_command  # noqa: E402

from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.models import ModerationLog  # noqa: E402
from bot.transport.base import GroupInfo, IncomingMessage, Participant  # noqa: E402
from tests.support.memory_transport import MemoryTransport  # noqa: E402

BOT = "10000000001@s.whatsapp.net"
FLOODER = "15550000003@s.whatsapp.net"
GOAL_RATIO = 3.0


def router_for(chat: str, *, antispam: bool):
    transport = MemoryTransport(me=BOT)
    participants = (
        Participant(jid=BOT, phone="10000000001", is_admin=True),
        Participant(jid=FLOODER, phone="15550000003"),
    )
    transport.groups[chat] = GroupInfo(chat=chat, participants=participants)
    now = [1000.0]
    router = build_router(
        transport=transport, session_name="bench", clock=lambda: now[0], pacing=PacingConfig(enabled=False)
    )
    if antispam:
        router.moderator.rulebook.rule_set(chat, "antispam", enabled=True, action="delete", options={"level": "high"})
    return router, now


def flood(router, now: list[float], chat: str, count: int, round_no: int) -> tuple[float, int]:
    messages = [
        IncomingMessage(
            id=f"FLOOD{round_no:03d}{chat[:4]}{n:06d}", chat=chat, sender=FLOODER, text=f"spam {n}", is_group=True
        )
        for n in range(count)
    ]
    deletes = 0
    started = time.perf_counter()
    for start in range(0, count, 50):
        router.answered_before.prefetch([m.id for m in messages[start : start + 50]])
        for message in messages[start : start + 50]:
            deletes += sum(r.kind == "delete" for r in router.handle(message).replies)
            now[0] += 1.0 / count  # the whole flood within one second
    router.stats.flush()  # what the db-writer thread does every few seconds: the flood's count on its row
    return time.perf_counter() - started, deletes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    ours, floor, deletes, peaks, states = [], [], 0, [], 0
    for round_no in range(args.rounds):
        quiet_chat, flood_chat = f"1203630000{round_no:03d}01@g.us", f"1203630000{round_no:03d}02@g.us"
        plain, plain_now = router_for(quiet_chat, antispam=False)
        floor.append(flood(plain, plain_now, quiet_chat, args.messages, round_no)[0])
        moderated, mod_now = router_for(flood_chat, antispam=True)
        elapsed, deleted = flood(moderated, mod_now, flood_chat, args.messages, round_no)
        ours.append(elapsed)
        if round_no == 0:  # traced once, untimed: tracemalloc slows every allocation
            again, again_now = router_for(f"1203630001{round_no:03d}03@g.us", antispam=True)
            tracemalloc.start()
            flood(again, again_now, f"1203630001{round_no:03d}03@g.us", args.messages, 100 + round_no)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        deletes, states = deleted, len(moderated.moderator.flood)
    row = ModerationLog.objects.filter(chat__endswith="02@g.us").order_by("-id").first()
    ours_s, floor_s = statistics.median(ours), statistics.median(floor)
    ratio = ours_s / floor_s
    print(f"RESULT moderation_flood_s={ours_s:.3f} floor_s={floor_s:.3f} ratio={ratio:.2f} goal<={GOAL_RATIO}")
    print(f"RESULT moderation_flood_us_per_message={ours_s / args.messages * 1e6:.0f}")
    print(
        f"RESULT moderation_flood_deletes={deletes} logged_messages={row.messages if row else 0} flood_states={states}"
    )
    print(f"RESULT moderation_flood_peak_traced_kib={statistics.median(peaks) / 1024:.0f}")
    sys.exit(0 if ratio <= GOAL_RATIO else 1)


if __name__ == "__main__":
    main()
