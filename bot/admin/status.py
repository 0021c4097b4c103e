"""Admin of the bot's own tables: every table an operator looks at, with useful columns, filters and
search. Part of :mod:`bot.admin`, loaded wherever ``django.contrib.admin`` is (the web process).

Rows the bot writes (status, events, stats, deliveries) are read-only here. Operator actions that
the bot must carry out (force reconnect, restart) go through the control table
(:mod:`bot.control`); the supervisor polls it and the outcome shows up in "Control commands".
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from bot.admin.common import OperatorActionPermissions, ReadOnlyAdmin, queue_for_sessions
from bot.control import ACTION_PERMISSIONS, control_allowed, control_request
from bot.models import (
    BannedUser,
    BotSetting,
    BotStatus,
    CommandPackChat,
    ConnectionEvent,
    ControlCommand,
    GroupSettings,
    KeywordFilter,
    MemberActivity,
    MessageStat,
    PhoneWatch,
    ReconnectEvent,
    Warning,
    WebhookDelivery,
)

MB = 1024 * 1024


@admin.register(BotStatus)
class BotStatusAdmin(OperatorActionPermissions, ReadOnlyAdmin):
    list_display = (
        "session_name",
        "state",
        "state_since",
        "heartbeat",
        "connected_since",
        "rss",
        "messages_in",
        "messages_out",
        "child_restarts",
        "host",
        "pid",
    )
    list_filter = ("state",)
    search_fields = ("session_name", "host", "reason")
    actions = ("force_reconnect", "restart_bot")

    @admin.display(description="heartbeat", ordering="last_heartbeat_at")
    def heartbeat(self, obj: BotStatus) -> str:
        if obj.last_heartbeat_at is None:
            return "never"
        age = int((timezone.now() - obj.last_heartbeat_at).total_seconds())
        stale = age > settings.HEARTBEAT_TIMEOUT
        return format_html(
            '<span style="color:{}">{}s ago{}</span>',
            "#c53030" if stale else "inherit",
            age,
            " (stale)" if stale else "",
        )

    @admin.display(description="RSS", ordering="rss_bytes")
    def rss(self, obj: BotStatus) -> str:
        return f"{obj.rss_bytes / MB:.0f} MB"

    @admin.action(description="Force reconnect (through the control table)", permissions=["request_reconnect"])
    def force_reconnect(self, request: HttpRequest, queryset: QuerySet[BotStatus]) -> None:
        queue_for_sessions(
            request,
            session_names=queryset.values_list("session_name", flat=True),
            action="reconnect",
            label="Reconnect",
        )

    @admin.action(description="Restart the bot (through the control table)", permissions=["request_restart"])
    def restart_bot(self, request: HttpRequest, queryset: QuerySet[BotStatus]) -> None:
        queue_for_sessions(
            request, session_names=queryset.values_list("session_name", flat=True), action="restart", label="Restart"
        )


@admin.register(ConnectionEvent)
class ConnectionEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "session_name", "from_state", "to_state", "reason")
    list_filter = ("to_state", "from_state", "session_name")
    search_fields = ("reason", "session_name")
    date_hierarchy = "at"


@admin.register(ReconnectEvent)
class ReconnectEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "session_name", "attempt", "delay_seconds", "reason", "outcome")
    list_filter = ("outcome", "reason", "session_name")
    search_fields = ("reason", "session_name")
    date_hierarchy = "at"


@admin.register(MessageStat)
class MessageStatAdmin(ReadOnlyAdmin):
    list_display = ("bucket", "session_name", "resolution", "messages_in", "messages_out", "commands", "errors", "rss")
    list_filter = ("resolution", "session_name")
    search_fields = ("session_name",)
    date_hierarchy = "bucket"

    @admin.display(description="RSS peak", ordering="rss_max_bytes")
    def rss(self, obj: MessageStat) -> str:
        return f"{obj.rss_max_bytes / MB:.0f} MB" if obj.rss_max_bytes else "–"


@admin.register(ControlCommand)
class ControlCommandAdmin(ReadOnlyAdmin):
    """Who asked for what, when, and how it ended."""

    list_display = ("requested_at", "session_name", "action", "requested_by", "state", "finished_at", "short_result")
    list_filter = ("state", "action", "session_name")
    search_fields = ("session_name", "result", "requested_by__username")
    date_hierarchy = "requested_at"
    list_select_related = ("requested_by",)
    actions = ("run_again",)

    @admin.display(description="result")
    def short_result(self, obj: ControlCommand) -> str:
        return obj.result if len(obj.result) <= 80 else obj.result[:79] + "…"

    @admin.action(description="Ask again (queue a new request with the same arguments)", permissions=["ask_again"])
    def run_again(self, request: HttpRequest, queryset: QuerySet[ControlCommand]) -> None:
        queued, refused = 0, set()
        for command in queryset.order_by("requested_at"):
            if not control_allowed(request.user, command.action):  # each needs its own action's permission
                refused.add(command.action)
                continue
            control_request(
                session_name=command.session_name, action=command.action, args=command.args, user=request.user
            )
            queued += 1
        if queued:
            messages.success(request, f"{queued} request(s) queued again.")
        if refused:
            messages.error(request, f"Not allowed to ask for: {', '.join(sorted(refused))}.")

    def has_ask_again_permission(self, request: HttpRequest) -> bool:
        """Any one action's permission offers the button; each row is then checked on its own."""
        return any(control_allowed(request.user, action) for action in ACTION_PERMISSIONS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("at", "session_name", "ok", "attempts", "status_code", "error")
    list_filter = ("ok", "session_name")
    search_fields = ("error", "session_name")
    date_hierarchy = "at"


@admin.register(PhoneWatch)
class PhoneWatchAdmin(ReadOnlyAdmin):
    """When each account's primary phone was last seen (the bot writes it; WhatsApp unlinks at ~14 days)."""

    list_display = ("session_name", "last_seen_at", "last_seen_how", "warned_days", "watched_since")
    search_fields = ("session_name",)


@admin.register(BotSetting)
class BotSettingAdmin(admin.ModelAdmin):
    list_display = ("session_name", "key", "value", "updated_at")
    list_filter = ("session_name", "key")
    search_fields = ("key",)


@admin.register(BannedUser)
class BannedUserAdmin(admin.ModelAdmin):
    list_display = ("phone", "session_name", "reason", "banned_by", "at")
    list_filter = ("session_name",)
    search_fields = ("phone", "reason", "banned_by")
    date_hierarchy = "at"


@admin.register(GroupSettings)
class GroupSettingsAdmin(admin.ModelAdmin):
    list_display = ("chat", "session_name", "welcome", "updated_at")
    list_filter = ("welcome", "session_name")
    search_fields = ("chat",)


@admin.register(Warning)
class WarningAdmin(admin.ModelAdmin):
    list_display = ("user", "chat", "session_name", "reason", "given_by", "at")
    list_filter = ("session_name",)
    search_fields = ("user", "chat", "reason")
    date_hierarchy = "at"


@admin.register(CommandPackChat)
class CommandPackChatAdmin(admin.ModelAdmin):
    list_display = ("pack", "chat", "session_name", "enabled", "updated_at")
    list_filter = ("enabled", "pack", "session_name")
    search_fields = ("chat", "pack")


@admin.register(KeywordFilter)
class KeywordFilterAdmin(admin.ModelAdmin):
    list_display = ("keyword", "chat", "session_name", "created_by", "created_at")
    list_filter = ("session_name",)
    search_fields = ("keyword", "chat", "reply")


@admin.register(MemberActivity)
class MemberActivityAdmin(ReadOnlyAdmin):
    """Counts only (what .top and .inactive read); never message contents."""

    list_display = ("member", "chat", "day", "messages", "session_name")
    list_filter = ("session_name", "day")
    search_fields = ("member", "chat")
