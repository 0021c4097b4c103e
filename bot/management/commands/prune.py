"""Remove what the retention rules say is old; prints what it removed."""

from django.core.management.base import BaseCommand

from blacksky_site.tempfiles import temp_sweep
from bot.retention import format_summary, prune_all


class Command(BaseCommand):
    help = "Delete old events, roll up old stats, drop failed backups and expired pairing codes, sweep temp files."

    def handle(self, *args, **options) -> None:
        summary = prune_all()
        sweep = temp_sweep()
        summary["temp_files"] = sweep.removed_files
        for key, value in summary.items():
            self.stdout.write(f"{key}: {value}")
        self.stdout.write(f"pruned: {format_summary(summary)}")
