"""Admin: the GIF library with previews and a "reconvert" action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from media_cdn.models import GifAsset, GifRendition
from media_cdn.pipeline import MediaError, gif_reconvert


class GifRenditionInline(admin.TabularInline):
    model = GifRendition
    extra = 0
    can_delete = False
    fields = ("kind", "mimetype", "bytes", "width", "height", "duration_seconds", "sha256", "link")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("data")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="file")
    def link(self, obj: GifRendition) -> str:
        url = reverse("media_cdn:gif", kwargs={"name": obj.asset.name, "ext": obj.kind})
        return format_html('<a href="{}">{}</a>', url, obj.filename)


@admin.register(GifAsset)
class GifAssetAdmin(admin.ModelAdmin):
    list_display = ("name", "preview", "category", "width", "height", "frames", "duration_seconds", "bytes")
    list_filter = ("category",)
    search_fields = ("name", "sha256")
    readonly_fields = (
        "preview_large",
        "sha256",
        "bytes",
        "width",
        "height",
        "frames",
        "duration_seconds",
        "created_at",
        "updated_at",
    )
    fields = ("name", "category", "source_url", *readonly_fields)
    inlines = (GifRenditionInline,)
    actions = ("reconvert",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).defer("thumbnail_jpeg")

    def has_reconvert_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("media_cdn.reconvert_gifasset")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # GIFs come in through `manage.py import_gifs`, which validates and converts them

    @admin.display(description="preview")
    def preview(self, obj: GifAsset) -> str:
        url = reverse("media_cdn:gif", kwargs={"name": obj.name, "ext": "gif"})
        return format_html('<img src="{}" alt="{}" width="64" height="64" loading="lazy">', url, obj.name)

    @admin.display(description="preview (GIF and the MP4 WhatsApp plays)")
    def preview_large(self, obj: GifAsset) -> str:
        gif = reverse("media_cdn:gif", kwargs={"name": obj.name, "ext": "gif"})
        mp4 = reverse("media_cdn:gif", kwargs={"name": obj.name, "ext": "mp4"})
        return format_html(
            '<img src="{}" alt="{}" width="200"> <video src="{}" width="200" autoplay loop muted playsinline></video>',
            gif,
            obj.name,
            mp4,
        )

    @admin.action(description="Reconvert the selected GIFs (rebuild MP4 and sticker)", permissions=["reconvert"])
    def reconvert(self, request: HttpRequest, queryset: QuerySet[GifAsset]) -> None:
        done = 0
        for asset in queryset:
            try:
                gif_reconvert(asset=asset)
                done += 1
            except MediaError as exc:
                self.message_user(request, f"{asset.name}: {exc}", level=messages.ERROR)
        if done:
            self.message_user(request, f"Reconverted {done} GIF(s).", level=messages.SUCCESS)
