"""Seed `days` of synthetic bot history for bench/stats_load.sh (not a bench itself: leading _).

What a busy bot leaves behind after `days` under the retention rules: per-minute stat rows for
the last 48 hours, hourly rows before that, thousands of connection and reconnect events, webhook
deliveries, and a paired session with its backups and lease; the bot connected with a fresh
heartbeat so /healthz answers 200.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bot.events import reconnect_hours_add  # noqa: E402
from bot.models import BotStatus, ConnectionEvent, MessageStat, ReconnectEvent, ReconnectHour, WebhookDelivery  # noqa: E402
from sessions_store.models import SessionBackup, SessionLease, WhatsAppSession  # noqa: E402

MB = 1024 * 1024
REASONS = ["keepalive_timeout", "stream_error", "network", "memory", "planned_restart"]
COMMANDS = ["ping", "menu", "hug", "slap", "sticker", "kick", "warn", "tagall"]


def seed(*, days: int, session_name: str, events_per_day: int, rng: random.Random) -> dict[str, int]:
    now = timezone.now()
    this_minute = now.replace(second=0, microsecond=0)
    counts: dict[str, int] = {}
    BotStatus.objects.update_or_create(
        session_name=session_name,
        defaults={
            "state": "connected",
            "state_since": now - timedelta(hours=7),
            "last_heartbeat_at": now,
            "process_started_at": now - timedelta(hours=9),
            "connected_since": now - timedelta(hours=7),
            "host": "bench",
            "pid": os.getpid(),
            "rss_bytes": 190 * MB,
            "messages_in": 10**6,
            "messages_out": 8 * 10**5,
        },
    )

    def stat(bucket, resolution, scale):
        by_command = {c: rng.randrange(0, 4 * scale) for c in rng.sample(COMMANDS, 3)}
        return MessageStat(
            session_name=session_name,
            bucket=bucket,
            resolution=resolution,
            messages_in=rng.randrange(5, 40) * scale,
            messages_out=rng.randrange(3, 30) * scale,
            commands=sum(by_command.values()),
            by_command=by_command,
            rss_max_bytes=rng.randrange(150, 230) * MB,
        )

    minutes = [stat(this_minute - timedelta(minutes=i), "minute", 1) for i in range(48 * 60)]
    hours_start = (this_minute - timedelta(hours=48)).replace(minute=0)
    hours = [stat(hours_start - timedelta(hours=i), "hour", 60) for i in range(max(0, days * 24 - 48))]
    for label, rows in (("minute stats", minutes), ("hour stats", hours)):
        for start in tqdm(range(0, len(rows), 2000), desc=label, file=sys.stderr):
            MessageStat.objects.bulk_create(rows[start : start + 2000])
    counts["message_stats"] = len(minutes) + len(hours)

    total_events = days * events_per_day
    span = days * 86400
    reconnects, transitions, deliveries = [], [], []
    for _ in tqdm(range(total_events), desc="events", file=sys.stderr):
        at = now - timedelta(seconds=rng.randrange(1, span))
        reason = rng.choice(REASONS)
        reconnects.append(
            ReconnectEvent(
                session_name=session_name,
                at=at,
                attempt=rng.randrange(1, 5),
                delay_seconds=rng.random() * 30,
                reason=reason,
                outcome=rng.choice(["succeeded", "failed"]),
            )
        )
        transitions.append(
            ConnectionEvent(
                session_name=session_name, at=at, from_state="connected", to_state="reconnecting", reason=reason
            )
        )
        transitions.append(
            ConnectionEvent(
                session_name=session_name,
                at=at + timedelta(seconds=3),
                from_state="reconnecting",
                to_state="connected",
                reason="reconnected",
            )
        )
        deliveries.append(
            WebhookDelivery(
                session_name=session_name,
                at=at,
                event={"to": "reconnecting"},
                attempts=1,
                ok=rng.random() > 0.05,
                status_code=200,
            )
        )
    for model, rows in ((ReconnectEvent, reconnects), (ConnectionEvent, transitions), (WebhookDelivery, deliveries)):
        for start in range(0, len(rows), 5000):
            model.objects.bulk_create(rows[start : start + 5000])
        counts[model.__name__] = len(rows)
    reconnect_hours_add(reconnects)  # what the worker's writer keeps beside each attempt

    session, _ = WhatsAppSession.objects.update_or_create(name=session_name, defaults={"status": "paired"})
    SessionBackup.objects.bulk_create(
        SessionBackup(
            session=session,
            created_at=now - timedelta(minutes=15 * i),
            reason="scheduled",
            state="verified" if i % 7 else "failed",
            stored_size=400_000,
        )
        for i in range(12)
    )
    if connection.vendor == "postgresql":  # as autovacuum would have by now: plans from real statistics
        with connection.cursor() as cursor:
            for model in (MessageStat, ReconnectEvent, ReconnectHour, ConnectionEvent, WebhookDelivery, SessionBackup):
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    SessionLease.objects.update_or_create(
        session=session,
        defaults={"holder": "bench:1:x", "fencing": 4, "renewed_at": now, "expires_at": now + timedelta(hours=1)},
    )
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--session", default="default")
    parser.add_argument("--events-per-day", type=int, default=1000)
    args = parser.parse_args()
    counts = seed(days=args.days, session_name=args.session, events_per_day=args.events_per_day, rng=random.Random(8))
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
