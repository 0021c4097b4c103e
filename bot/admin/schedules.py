"""Admin of scheduled messages and timed mutes: what each chat scheduled, every occurrence's outcome, and
a stop action (it removes the pending django-q2 row too). Part of :mod:`bot.admin` (the web process)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from bot.models import ChatTimeZone, ScheduledMessage, ScheduleOccurrence
from bot.scheduled import scheduled_cancel


class OccurrenceInline(admin.TabularInline):
    model = ScheduleOccurrence
    extra = 0
    can_delete = False
    fields = ("due_at", "outcome", "sent_for", "skipped", "late_seconds", "at")
    readonly_fields = fields
    max_num = 0
    ordering = ("-due_at",)


@admin.register(ScheduledMessage)
class ScheduledMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "session_name",
        "chat",
        "kind",
        "rule",
        "time_zone",
        "next_run",
        "active",
        "sent_count",
        "skipped_count",
    )
    list_filter = ("active", "kind", "session_name")
    search_fields = ("chat", "text")
    readonly_fields = [f.name for f in ScheduledMessage._meta.fields]
    inlines = (OccurrenceInline,)
    actions = ("stop",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created from the chat, where the time and the limits are checked

    @admin.action(description="Stop the selected schedules", permissions=["change"])
    def stop(self, request: HttpRequest, queryset) -> None:
        stopped = sum(
            scheduled_cancel(session_name=row.session_name, chat=row.chat, schedule_id=row.pk)
            for row in queryset.filter(active=True)
        )
        self.message_user(request, f"{stopped} schedule(s) stopped.", messages.SUCCESS)


@admin.register(ChatTimeZone)
class ChatTimeZoneAdmin(admin.ModelAdmin):
    list_display = ("chat", "session_name", "time_zone", "updated_at")
    search_fields = ("chat",)
    readonly_fields = ("session_name", "chat", "time_zone", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # set with .tz, which moves the chat's schedules with it
