"""Schedules of the bot app (synced by `manage.py setup_schedules`)."""

from blacksky_site.schedules import ScheduleSpec

SCHEDULES = [
    ScheduleSpec(name="bot.prune", func="bot.tasks.prune_task", schedule_type="H"),
    ScheduleSpec(name="bot.temp_sweep", func="bot.tasks.temp_sweep_task", schedule_type="H"),
]
