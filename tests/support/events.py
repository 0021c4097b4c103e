"""Event rows written the way the worker writes them, for tests of what the web reads."""

from __future__ import annotations

from bot.events import reconnect_hours_add
from bot.models import ReconnectEvent


def reconnect_recorded(**fields) -> ReconnectEvent:
    """An attempt as the worker records it: the row and its hour's tally (what /stats reads)."""
    event = ReconnectEvent.objects.create(**fields)
    reconnect_hours_add([event])
    return event
