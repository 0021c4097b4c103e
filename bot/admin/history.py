"""Admin of anti-delete and anti-edit: the per-chat switches, and the message cache by its metadata only.

Part of :mod:`bot.admin` (the web process). The cache's content column is ciphertext and is never
shown, not even as bytes: an operator sees which chat, whose message, its kind and age, and may
delete rows (the bot forgets them), never read what was written.
"""

from __future__ import annotations

from django.contrib import admin

from bot.admin.common import ReadOnlyAdmin
from bot.models import CachedMessage, ChatHistorySetting


@admin.register(ChatHistorySetting)
class ChatHistorySettingAdmin(admin.ModelAdmin):
    list_display = ("chat", "session_name", "antidelete", "antiedit", "destination", "destination_chat", "updated_at")
    list_filter = ("antidelete", "antiedit", "destination", "session_name")
    search_fields = ("chat", "destination_chat")
    readonly_fields = ("changed_by", "updated_at")


@admin.register(CachedMessage)
class CachedMessageAdmin(ReadOnlyAdmin):
    list_display = ("message_id", "chat", "session_name", "sender", "kind", "sent_at", "cached_at", "edits", "key_id")
    list_filter = ("kind", "session_name")
    search_fields = ("chat", "sender", "message_id")
    date_hierarchy = "cached_at"
    # never "content": it is ciphertext, and not shown even as bytes
    fields = ("session_name", "chat", "message_id", "sender", "kind", "sent_at", "cached_at", "edits", "key_id")
