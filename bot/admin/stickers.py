"""Admin of what the sticker commands keep: each user's pack and author (an operator may correct or
remove one), and the made media waiting for its reply (read-only; it goes once sent). Part of
:mod:`bot.admin` (the web process)."""

from __future__ import annotations

from django.contrib import admin

from bot.admin.common import ReadOnlyAdmin
from bot.models import MadeMedia, StickerPreference


@admin.register(StickerPreference)
class StickerPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "session_name", "pack", "author", "updated_at")
    list_filter = ("session_name",)
    search_fields = ("user", "pack", "author")


@admin.register(MadeMedia)
class MadeMediaAdmin(ReadOnlyAdmin):
    list_display = ("id", "session_name", "kind", "mimetype", "size", "created_at")
    list_filter = ("session_name", "kind")
    exclude = ("data",)

    @admin.display(description="bytes")
    def size(self, obj: MadeMedia) -> int:
        return len(obj.data or b"")
