"""The /metrics families of what goes wrong (web dyno): built from the /stats snapshot's ``counters``
and ``inbox`` blocks (``ops.selectors.counters``), so both pages say the same numbers.

The ``_total`` counters count since the worker process started (a restart of the worker resets
them, which Prometheus reads as a counter reset); every known kind is exported, 0 included, so
a rate can be taken before the first failure.
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric


def counter_families(sessions: list[dict]) -> list[Metric]:
    """One family per figure, one sample per session (and kind or reason)."""
    undecryptable = CounterMetricFamily(
        "blacksky_undecryptable_messages",
        "Messages that could not be decrypted, by kind (unavailable: a placeholder from the server; "
        "failed: our keys could not open it).",
        labels=["session", "kind"],
    )
    send_failures = CounterMetricFamily(
        "blacksky_send_failures",
        "Sends WhatsApp refused or that failed, by kind (rate_overlimit: 429, reachout_timelock: 463, other).",
        labels=["session", "kind"],
    )
    reconnects = CounterMetricFamily(
        "blacksky_reconnects",
        "Reconnect attempts (the child's and the child restarts), by reason.",
        labels=["session", "reason"],
    )
    keepalive = CounterMetricFamily(
        "blacksky_keepalive_timeouts", "Keepalive pings WhatsApp did not answer in time.", labels=["session"]
    )
    history = CounterMetricFamily(
        "blacksky_history_events",
        "Anti-delete and anti-edit, by kind (delete_reposted, edit_reposted; unknown: the message was not kept; "
        "limited: over a chat's repost budget; foreign_edit: an edit by someone else, ignored).",
        labels=["session", "kind"],
    )
    calls = CounterMetricFamily(
        "blacksky_calls",
        "Incoming calls anti-call (REJECT_CALLS) acted on, by outcome (rejected; reject_failed: WhatsApp refused).",
        labels=["session", "outcome"],
    )
    inbox = GaugeMetricFamily(
        "blacksky_inbox_depth",
        "Incoming messages waiting for a dispatcher, at the child's last beat.",
        labels=["session"],
    )
    alert = GaugeMetricFamily(
        "blacksky_undecryptable_after_restore_alert",
        "1 when undecryptable messages rose past the threshold right after the last restore.",
        labels=["session"],
    )
    for s in sessions:
        name = s["session"]
        total = (s.get("counters") or {}).get("total") or {}
        for kind, n in (total.get("undecryptable") or {}).items():
            undecryptable.add_metric([name, kind], n)
        for kind, n in (total.get("send_failures") or {}).items():
            send_failures.add_metric([name, kind], n)
        for reason, n in (total.get("reconnects") or {}).items():
            reconnects.add_metric([name, reason], n)
        keepalive.add_metric([name], total.get("keepalive_timeouts", 0))
        for kind, n in (total.get("history") or {}).items():
            history.add_metric([name, kind], n)
        for outcome, n in (total.get("calls") or {}).items():
            calls.add_metric([name, outcome], n)
        depth = (s.get("inbox") or {}).get("depth")
        if depth is not None:
            inbox.add_metric([name], depth)
        watch = (s.get("counters") or {}).get("undecryptable_after_restore")
        alert.add_metric([name], 1.0 if watch and watch.get("alert") else 0.0)
    return [undecryptable, send_failures, reconnects, keepalive, history, calls, inbox, alert]
