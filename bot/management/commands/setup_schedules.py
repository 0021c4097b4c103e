"""Create or update every django-q2 schedule the apps declare (run by Heroku's release phase)."""

from django.core.management.base import BaseCommand

from blacksky_site.schedules import schedules_sync


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules declared in each app's schedules.py (idempotent)."

    def handle(self, *args, **options) -> None:
        result = schedules_sync()
        for action in ("created", "updated", "unchanged"):
            for name in result[action]:
                self.stdout.write(f"{action}: {name}")
        self.stdout.write(
            f"schedules: {len(result['created'])} created, {len(result['updated'])} updated, "
            f"{len(result['unchanged'])} unchanged"
        )
