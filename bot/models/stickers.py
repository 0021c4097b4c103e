"""What the sticker commands keep: each user's own pack name and author, and the media the bot made
for a reply until that reply is sent (the outbox stores replies by reference, never bytes)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class StickerPreference(models.Model):
    """A user's pack name and author for the stickers the bot makes for them (``.stickerpack``);
    empty fields fall back to STICKER_PACK and STICKER_AUTHOR."""

    session_name = models.CharField(max_length=64)
    user = models.CharField(max_length=32, help_text="Phone number digits, or the LID user when no number is known.")
    pack = models.CharField(max_length=128, blank=True)
    author = models.CharField(max_length=128, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "user"], name="bot_sticker_pref_unique_user")]

    def __str__(self) -> str:
        return f"{self.session_name} {self.user}: {self.pack!r} / {self.author!r}"


class MadeMedia(models.Model):
    """A sticker, picture or video the bot made for a reply, kept until it is sent.

    The reply in the outbox names it (``asset`` = ``made:<id>``); a child that restarts before
    sending still has it. Retention deletes rows older than the outbox's age limit.
    """

    session_name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, help_text="The reply kind it is for: sticker, image or video.")
    mimetype = models.CharField(max_length=64)
    sha256 = models.CharField(max_length=64)
    data = models.BinaryField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    duration_seconds = models.FloatField(default=0.0)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.session_name} {self.kind} {self.sha256[:12]} ({len(self.data or b'')} B)"
