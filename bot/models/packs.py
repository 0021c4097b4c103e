"""Per-group choices about installed command packs (``bot.dispatch.packs``), read by the bot child."""

from __future__ import annotations

from django.db import models


class CommandPackChat(models.Model):
    """A group admin turned a command pack on or off in one chat (a pack is on where no row says off)."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    pack = models.CharField(max_length=64)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "chat", "pack"], name="bot_commandpackchat_unique")
        ]
        verbose_name = "command pack in a chat"
        verbose_name_plural = "command packs in chats"

    def __str__(self) -> str:
        return f"{self.pack} {'on' if self.enabled else 'off'} in {self.chat}"
