"""Admin of anti-call and ``.afk`` rows: who was told why their call was rejected, and who is away.

Part of :mod:`bot.admin` (the web process). Call notices are the bot's own books (read-only); an
operator may delete an away status, and the bot forgets it within a minute (``bot.dispatch.afk``).
"""

from __future__ import annotations

from django.contrib import admin

from bot.admin.common import ReadOnlyAdmin
from bot.models import AwayStatus, CallNotice


@admin.register(CallNotice)
class CallNoticeAdmin(ReadOnlyAdmin):
    list_display = ("caller", "session_name", "rejected", "last_call_at", "notified_at")
    list_filter = ("session_name",)
    search_fields = ("caller",)


@admin.register(AwayStatus)
class AwayStatusAdmin(admin.ModelAdmin):
    list_display = ("user", "session_name", "reason", "since")
    list_filter = ("session_name",)
    search_fields = ("user", "reason")
    readonly_fields = ("identities", "since")
