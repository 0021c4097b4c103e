"""Schedules declared in code.

Each app lists its django-q2 schedules in ``<app>/schedules.py`` as ``SCHEDULES``; the release
phase runs ``manage.py setup_schedules`` which calls :func:`schedules_sync` to create or update
them by name. Declaring them in code keeps every deploy identical and reviewable.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    func: str
    schedule_type: str  # django_q.models.Schedule.MINUTES / HOURLY / DAILY ...
    minutes: int | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    repeats: int = -1

    def fields(self) -> dict[str, Any]:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in sorted(self.kwargs.items()))
        return {
            "func": self.func,
            "schedule_type": self.schedule_type,
            "minutes": self.minutes,
            "kwargs": kwargs,
            "repeats": self.repeats,
        }


def declared_schedules() -> list[ScheduleSpec]:
    """Every ScheduleSpec from the installed project apps' ``schedules`` modules."""
    specs: list[ScheduleSpec] = []
    for config in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedules":
                raise
            continue
        specs.extend(getattr(module, "SCHEDULES", []))
    return specs


def schedules_sync(*, specs: list[ScheduleSpec] | None = None) -> dict[str, list[str]]:
    """Create or update each declared schedule by name; returns names by what happened."""
    from django_q.models import Schedule

    result: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
    for spec in declared_schedules() if specs is None else specs:
        wanted = spec.fields()
        existing = Schedule.objects.filter(name=spec.name).first()
        if existing is None:
            Schedule.objects.create(name=spec.name, **wanted)
            result["created"].append(spec.name)
            continue
        changed = [k for k, v in wanted.items() if getattr(existing, k) != v]
        if changed:
            for key in changed:
                setattr(existing, key, wanted[key])
            existing.save()
            result["updated"].append(spec.name)
        else:
            result["unchanged"].append(spec.name)
    return result
