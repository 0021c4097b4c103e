"""Chat activity the bot child counts and its commands read: keyword filters and per-member message counts."""

from __future__ import annotations

from django.db import models


class MemberActivity(models.Model):
    """How many messages one member sent in one group on one day: a counter, never the messages."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    member = models.CharField(max_length=128)  # the member's phone JID when known, else the JID WhatsApp gave
    day = models.DateField()
    messages = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "chat", "member", "day"], name="bot_memberactivity_unique")
        ]
        indexes = [models.Index(fields=["session_name", "chat", "day"], name="bot_memberact_chat_day")]
        verbose_name_plural = "member activity"

    def __str__(self) -> str:
        return f"{self.member} in {self.chat} on {self.day}: {self.messages}"


class KeywordFilter(models.Model):
    """An automatic reply to a word or phrase, in one chat (``chat`` empty: every chat, set by an owner)."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128, blank=True)
    keyword = models.CharField(max_length=64)  # normalised: case- and accent-folded words joined by one space
    reply = models.TextField()
    created_by = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "chat", "keyword"], name="bot_keywordfilter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.keyword!r} in {self.chat or 'every chat'}"
