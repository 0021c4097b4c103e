"""Schedules of the sessions_store app (synced by ``manage.py setup_schedules``)."""

from django.conf import settings

from blacksky_site.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(
        name="sessions_store.backup",
        func="sessions_store.tasks.backup_scheduled_task",
        schedule_type="I",  # every `minutes`
        minutes=settings.SESSION_BACKUP_INTERVAL,
    ),
    ScheduleSpec(name="sessions_store.verify", func="sessions_store.tasks.verify_daily_task", schedule_type="D"),
]
