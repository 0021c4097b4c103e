"""The outbox figures of one session for /stats, /metrics and the dashboard; imported by the web dyno.

Read from ``OutboxItem`` rows the worker's child writes: the depth (queued now) and the age of the
oldest queued reply, from the (session, state, id) index; what became of the replies queued in the
last 24 hours, bounded by that window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Min

from bot.models import OutboxItem


def outbox_figures(*, session_name: str, now: datetime) -> dict:
    queued = OutboxItem.objects.filter(session_name=session_name, state=OutboxItem.State.QUEUED).aggregate(
        depth=Count("id"), oldest=Min("created_at")
    )
    by_state = dict(
        OutboxItem.objects.filter(session_name=session_name, created_at__gte=now - timedelta(hours=24))
        .order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    oldest = queued["oldest"]
    return {
        "queued": queued["depth"],
        "oldest_queued_age_seconds": round(max(0.0, (now - oldest).total_seconds()), 1) if oldest else None,
        "last_24h": {state: by_state.get(state, 0) for state in OutboxItem.State.values},
    }
