"""Greetings per group: welcome and goodbye templates, the group picture, promote/demote notices."""

from __future__ import annotations

from django.db import models


class GreetingSettings(models.Model):
    """A group's greeting texts and switches (``.welcome set``, ``.goodbye on``, ``.rolenotice on``).

    Whether welcomes go out at all stays ``GroupSettings.welcome``; an empty template means the
    built-in sentence. Templates are checked (placeholders, length) by ``bot.dispatch.greetings``
    before they are stored.
    """

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    welcome_text = models.TextField(blank=True)
    goodbye_text = models.TextField(blank=True)
    goodbye = models.BooleanField(null=True, blank=True, help_text="Empty: goodbyes follow the welcome switch.")
    with_image = models.BooleanField(default=False, help_text="Send the welcome with the group's picture.")
    role_notices = models.BooleanField(default=False, help_text="Announce promotions and demotions.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "chat"], name="bot_greeting_unique_chat")]
        verbose_name_plural = "greeting settings"

    def __str__(self) -> str:
        return self.chat
