"""`/metrics` for the web dyno (gunicorn): Prometheus text built per request from the /stats snapshot.

The web dyno has no live counters of its own: a registry is built for each scrape from the
cached snapshot, so Prometheus sees the worker's figures without the web process keeping state.
Windowed figures (24 h) are gauges; the bot's cumulative message counters are counters.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.models import ConnectionState
from ops.metrics_counters import counter_families

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SnapshotCollector(Collector):
    """Turns one /stats snapshot into metric families."""

    def __init__(self, snapshot: dict) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        sessions = self.snapshot.get("sessions", [])
        state = GaugeMetricFamily(
            "blacksky_connection_state", "1 for the session's current connection state.", labels=["session", "state"]
        )
        up = GaugeMetricFamily(
            "blacksky_bot_up", "1 when the session is connected with a fresh heartbeat.", labels=["session"]
        )
        heartbeat = GaugeMetricFamily(
            "blacksky_heartbeat_age_seconds", "Seconds since the bot's last heartbeat.", labels=["session"]
        )
        process_uptime = GaugeMetricFamily(
            "blacksky_process_uptime_seconds", "Seconds since the bot process started.", labels=["session"]
        )
        connection_uptime = GaugeMetricFamily(
            "blacksky_connection_uptime_seconds", "Seconds connected without interruption.", labels=["session"]
        )
        rss = GaugeMetricFamily("blacksky_rss_bytes", "Resident memory of the bot child.", labels=["session"])
        limit = GaugeMetricFamily("blacksky_memory_limit_bytes", "MEMORY_LIMIT_MB in bytes.")
        limit.add_metric([], self.snapshot.get("memory_limit_mb", 0) * 1024 * 1024)
        messages_in = CounterMetricFamily(
            "blacksky_messages_in", "Messages received since the bot process started.", labels=["session"]
        )
        messages_out = CounterMetricFamily(
            "blacksky_messages_out", "Messages sent since the bot process started.", labels=["session"]
        )
        rate = GaugeMetricFamily(
            "blacksky_messages_in_per_minute",
            "Incoming messages per minute over a window.",
            labels=["session", "window"],
        )
        commands = GaugeMetricFamily(
            "blacksky_commands_24h", "Commands run in the last 24 hours (top commands).", labels=["session", "command"]
        )
        reconnects = GaugeMetricFamily(
            "blacksky_reconnects_24h", "Reconnect attempts in the last 24 hours.", labels=["session", "reason"]
        )
        restarts = GaugeMetricFamily(
            "blacksky_child_restarts", "Bot child restarts by the supervisor.", labels=["session"]
        )
        backups = GaugeMetricFamily("blacksky_backups", "Stored session backups by state.", labels=["session", "state"])
        backup_age = GaugeMetricFamily(
            "blacksky_backup_newest_verified_age_seconds", "Age of the newest verified backup.", labels=["session"]
        )
        webhook_failures = GaugeMetricFamily(
            "blacksky_webhook_failures_24h", "Connection webhooks that failed in the last 24 hours.", labels=["session"]
        )
        outbox_depth = GaugeMetricFamily(
            "blacksky_outbox_queued", "Replies queued in the outbox, not yet sent.", labels=["session"]
        )
        outbox_age = GaugeMetricFamily(
            "blacksky_outbox_oldest_queued_age_seconds", "Age of the oldest queued reply.", labels=["session"]
        )
        outbox_24h = GaugeMetricFamily(
            "blacksky_outbox_24h",
            "Replies queued in the last 24 hours, by what became of them.",
            labels=["session", "state"],
        )
        liveness_ok = GaugeMetricFamily(
            "blacksky_liveness_last_ok_seconds",
            "Seconds since WhatsApp last answered the liveness round trip (absent: never yet).",
            labels=["session"],
        )
        liveness_unanswered = GaugeMetricFamily(
            "blacksky_liveness_unanswered_in_a_row", "Liveness round trips unanswered in a row.", labels=["session"]
        )
        liveness_rounds = CounterMetricFamily(
            "blacksky_liveness_round_trips",
            "Liveness round trips of the running bot child, by outcome.",
            labels=["session", "outcome"],
        )
        last_inbound = GaugeMetricFamily(
            "blacksky_last_inbound_seconds", "Seconds since the last event of any kind from WhatsApp.", labels=["session"]
        )
        last_message = GaugeMetricFamily(
            "blacksky_last_inbound_message_seconds", "Seconds since the last incoming message.", labels=["session"]
        )
        phone_age = GaugeMetricFamily(
            "blacksky_primary_phone_last_seen_seconds",
            "Seconds since the account's primary phone was last seen (WhatsApp unlinks at about 14 days).",
            labels=["session"],
        )
        for s in sessions:
            name = s["session"]
            live = s.get("liveness") or {}
            if live.get("watched"):
                _maybe(liveness_ok, [name], live.get("last_ok_age_seconds"))
                liveness_unanswered.add_metric([name], live.get("unanswered_in_a_row", 0))
                liveness_rounds.add_metric([name, "answered"], live.get("answered", 0))
                liveness_rounds.add_metric([name, "unanswered"], live.get("unanswered", 0))
                _maybe(last_inbound, [name], live.get("last_inbound_age_seconds"))
                _maybe(last_message, [name], live.get("last_message_age_seconds"))
            _maybe(phone_age, [name], (s.get("primary_phone") or {}).get("last_seen_age_seconds"))
            outbox = s.get("outbox") or {}
            outbox_depth.add_metric([name], outbox.get("queued", 0))
            _maybe(outbox_age, [name], outbox.get("oldest_queued_age_seconds"))
            for outbox_state, count in (outbox.get("last_24h") or {}).items():
                outbox_24h.add_metric([name, outbox_state], count)
            for choice in ConnectionState.values:
                state.add_metric([name, choice], 1.0 if s["state"] == choice else 0.0)
            up.add_metric([name], 1.0 if s["state"] == ConnectionState.CONNECTED and s["heartbeat_fresh"] else 0.0)
            _maybe(heartbeat, [name], s["heartbeat_age_seconds"])
            _maybe(process_uptime, [name], s["process_uptime_seconds"])
            connection_uptime.add_metric([name], s["connection_uptime_seconds"] or 0.0)
            rss.add_metric([name], s["memory"]["rss_bytes"])
            messages_in.add_metric([name], s["messages"]["total_in"])
            messages_out.add_metric([name], s["messages"]["total_out"])
            for window, figures in s["messages"]["rate"].items():
                rate.add_metric([name, window], figures["in_per_minute"])
            for command in s["top_commands_24h"]:
                commands.add_metric([name, command["name"]], command["count"])
            for reason, count in s["reconnects"]["last_24h_by_reason"].items():
                reconnects.add_metric([name, reason], count)
            restarts.add_metric([name], s["child_restarts"])
            for backup_state, count in s["backups"]["by_state"].items():
                backups.add_metric([name, backup_state], count)
            _maybe(backup_age, [name], s["backups"]["newest_verified_age_seconds"])
            webhook_failures.add_metric([name], s["webhooks"]["failures_24h"])
        yield from (
            state,
            up,
            heartbeat,
            process_uptime,
            connection_uptime,
            rss,
            limit,
            messages_in,
            messages_out,
            rate,
            commands,
            reconnects,
            restarts,
            backups,
            backup_age,
            webhook_failures,
            outbox_depth,
            outbox_age,
            outbox_24h,
            liveness_ok,
            liveness_unanswered,
            liveness_rounds,
            last_inbound,
            last_message,
            phone_age,
        )
        yield from counter_families(sessions)


def _maybe(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def metrics_text(*, snapshot: dict) -> bytes:
    """Prometheus exposition text for a /stats snapshot, from a registry made for this call."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)
