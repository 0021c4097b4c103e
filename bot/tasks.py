"""django-q2 entry points of the bot app: thin wrappers returning a summary (stored as the task result)."""

from __future__ import annotations

from blacksky_site.tempfiles import temp_sweep
from bot.retention import prune_all


def prune_task() -> dict[str, int]:
    return prune_all()


def temp_sweep_task() -> dict[str, int]:
    result = temp_sweep()
    return {
        "removed_files": result.removed_files,
        "removed_bytes": result.removed_bytes,
        "kept_bytes": result.kept_bytes,
    }
