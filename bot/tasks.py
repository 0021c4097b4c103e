"""django-q2 entry points of the bot app: thin wrappers returning a summary (stored as the task result)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from blacksky_site.tempfiles import temp_sweep
from bot.retention import prune_all
from bot.scheduled import scheduled_rearm_orphans, scheduled_run


def prune_task() -> dict[str, int]:
    result = prune_all()
    result["schedules_rearmed"] = scheduled_rearm_orphans(now=timezone.now())
    return result


def temp_sweep_task() -> dict[str, int]:
    result = temp_sweep()
    return {
        "removed_files": result.removed_files,
        "removed_bytes": result.removed_bytes,
        "kept_bytes": result.kept_bytes,
    }


def scheduled_message_task(schedule_id: int, due: str) -> dict:
    """One occurrence of a chat's scheduled message or timed mute; ``due`` is django-q2's intended date."""
    return scheduled_run(schedule_id=schedule_id, due=datetime.fromisoformat(due), now=timezone.now())
