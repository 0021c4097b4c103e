"""Message history for anti-delete and anti-edit: the per-chat switches and the encrypted message cache.

Written by the bot child (``bot.message_cache``), pruned by the retention task, listed in the admin
by their metadata only: the content column is AES-GCM ciphertext (``bot.message_cache`` holds the
key derivation), so neither the admin nor a database dump shows what anybody wrote.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ChatHistorySetting(models.Model):
    """Whether a chat wants deleted or edited messages shown again, and where they are posted."""

    class Destination(models.TextChoices):
        HERE = "here", "the same chat"
        OWNER = "owner", "the owner's private chat"
        CHAT = "chat", "another chat"

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    antidelete = models.BooleanField(default=False)
    antiedit = models.BooleanField(default=False)
    destination = models.CharField(max_length=8, choices=Destination.choices, default=Destination.HERE)
    destination_chat = models.CharField(max_length=128, blank=True, default="", help_text="For 'another chat'.")
    changed_by = models.CharField(max_length=32, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "chat"], name="bot_chathistory_unique_chat"),
        ]

    def __str__(self) -> str:
        return self.chat

    @property
    def keeps_messages(self) -> bool:
        return self.antidelete or self.antiedit


class CachedMessage(models.Model):
    """One recent message of an opted-in chat. ``content`` is nonce + AES-GCM ciphertext of its text,
    kind and push name, bound to (session, chat, message id); the other columns are metadata."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    message_id = models.CharField(max_length=128)
    sender = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, default="text")
    sent_at = models.DateTimeField(help_text="When WhatsApp says the message was sent.")
    cached_at = models.DateTimeField(default=timezone.now)
    key_id = models.CharField(max_length=8, help_text="Which session key encrypted the content.")
    content = models.BinaryField()
    edits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "chat", "message_id"], name="bot_cachedmessage_unique_id"),
        ]
        indexes = [
            models.Index(fields=["session_name", "chat", "id"], name="bot_cachedmsg_chat_order"),
            models.Index(fields=["session_name", "id"], name="bot_cachedmsg_session_order"),
            models.Index(fields=["cached_at"], name="bot_cachedmsg_age"),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} in {self.chat}"
