"""The outbox in the admin: queued, failed and expired replies with "retry" and "discard", each behind its own
permission. Part of :mod:`bot.admin`, loaded wherever ``django.contrib.admin`` is (the web process).

Rows are the bot's: nobody edits one by hand. Retry queues a failed or expired item again with a
fresh age budget; discard marks a queued or failed item ``discarded`` (kept, never sent). Both go
through ``bot.outbox``, the one writer of the table; the running sender picks a retried
item up within a second.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from bot.admin.common import ReadOnlyAdmin
from bot.models import OutboxItem
from bot.outbox import outbox_item_discard, outbox_item_retry


@admin.action(description="Retry (queue again with a fresh age)", permissions=["retry"])
def retry_items(modeladmin, request: HttpRequest, queryset: QuerySet[OutboxItem]) -> None:
    picked = queryset.count()
    done = outbox_item_retry(item_ids=list(queryset.values_list("pk", flat=True)))
    messages.success(request, f"{done} item(s) queued again; {picked - done} skipped (only failed or expired retry).")


@admin.action(description="Discard (never send)", permissions=["discard"])
def discard_items(modeladmin, request: HttpRequest, queryset: QuerySet[OutboxItem]) -> None:
    picked = queryset.count()
    done = outbox_item_discard(item_ids=list(queryset.values_list("pk", flat=True)), by=request.user.get_username())
    messages.success(request, f"{done} item(s) discarded; {picked - done} skipped (only queued or failed).")


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin):
    list_display = ("id", "session_name", "state", "kind", "chat", "age", "attempts", "last_error", "sent_at")
    list_filter = ("state", "session_name", "kind")
    search_fields = ("session_name", "chat", "answers", "message_id", "last_error")
    readonly_fields = [f.name for f in OutboxItem._meta.fields]
    actions = [retry_items, discard_items]
    ordering = ("-id",)

    @admin.display(description="age")
    def age(self, obj: OutboxItem) -> str:
        seconds = int((timezone.now() - obj.created_at).total_seconds())
        return f"{seconds // 60} min" if seconds >= 120 else f"{seconds} s"

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.retry_outboxitem")

    def has_discard_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.discard_outboxitem")
