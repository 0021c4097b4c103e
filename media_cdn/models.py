"""Reaction GIFs: one ``GifAsset`` per original GIF, one ``GifRendition`` per derived file.

Renditions are made once, at ingest (``media_cdn.pipeline``), never per send. Each carries what
WhatsApp needs to know about it (size, dimensions, duration, checksum), so sending needs no ffmpeg
or ffprobe. Small renditions also keep a copy of their bytes in the database (``data``): a cloud
dyno's disk is wiped on every restart, the database is not.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class GifAsset(models.Model):
    """One original GIF (deduplicated by the sha256 of its bytes)."""

    name = models.CharField(
        max_length=40,
        unique=True,
        validators=[RegexValidator(NAME_PATTERN, "lowercase letters, digits, '-' and '_' (at most 40)")],
        help_text="Asset name used by commands and in /gifs/<name>.<ext>.",
    )
    category = models.CharField(max_length=40, blank=True, default="", db_index=True)
    sha256 = models.CharField(max_length=64, unique=True, help_text="Checksum of the original GIF bytes.")
    bytes = models.PositiveIntegerField(help_text="Size of the original GIF.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    frames = models.PositiveIntegerField()
    duration_seconds = models.FloatField(help_text="One loop of the animation, from the GIF's frame delays.")
    source_url = models.URLField(blank=True, default="", help_text="Where the original came from (network fallback).")
    thumbnail_jpeg = models.BinaryField(default=b"", blank=True, help_text="Small JPEG of a frame, sent inline.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("reconvert_gifasset", "Can reconvert GIF assets (rebuild MP4 and sticker)")]

    def __str__(self) -> str:
        return self.name


class GifRendition(models.Model):
    """A file derived from (or equal to) an asset's original: the GIF, the MP4, the WebP sticker."""

    class Kind(models.TextChoices):
        GIF = "gif", "original GIF"
        MP4 = "mp4", "MP4 (gifPlayback)"
        WEBP = "webp", "animated WebP sticker"

    MIMETYPES = {"gif": "image/gif", "mp4": "video/mp4", "webp": "image/webp"}

    asset = models.ForeignKey(GifAsset, on_delete=models.CASCADE, related_name="renditions")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    mimetype = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64, db_index=True)
    bytes = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_seconds = models.FloatField(default=0.0)
    path = models.CharField(max_length=255, help_text="Relative to MEDIA_ROOT.")
    data = models.BinaryField(null=True, blank=True, editable=False, help_text="Copy of the bytes when small.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["asset__name", "kind"]
        constraints = [models.UniqueConstraint(fields=["asset", "kind"], name="media_cdn_one_rendition_per_kind")]

    def __str__(self) -> str:
        return f"{self.asset.name}.{self.kind}"

    @property
    def filename(self) -> str:
        """The public file name, as served under /gifs/ and looked up on the CDN."""
        return f"{self.asset.name}.{self.kind}"
