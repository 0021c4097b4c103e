"""The outbox and the handled message ids: what the bot accepted to send and what it answered."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxItem(models.Model):
    """One reply waiting to be sent, or what became of it: the durable queue between handlers and WhatsApp.

    Handlers return once their replies are rows here; the child's sender thread sends them in order
    per chat with the usual pacing. A stopped child leaves the rest ``queued`` for the next owner of
    the session, which sends them unless ``not_after`` passed (then ``expired``).
    """

    class State(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        FAILED = "failed"
        EXPIRED = "expired"
        DISCARDED = "discarded"  # an operator dropped it from the admin

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    kind = models.CharField(max_length=16)
    content = models.JSONField(default=dict, blank=True, help_text="The reply's fields; media by asset name.")
    answers = models.CharField(max_length=128, blank=True, help_text="Id of the incoming message it answers.")
    created_at = models.DateTimeField(default=timezone.now)
    not_after = models.DateTimeField(help_text="Not sent after this time: marked expired instead.")
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Back-off after a transient error.")
    attempted_at = models.DateTimeField(null=True, blank=True, help_text="When the last send began.")
    last_error = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=128, blank=True, help_text="WhatsApp message id, when known.")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # the sender's drain: a session's queued rows in order
            models.Index(fields=["session_name", "state", "id"], name="bot_outbox_drain"),
            models.Index(fields=["state", "created_at"], name="bot_outbox_state_age"),
        ]
        permissions = [
            ("retry_outboxitem", "Can queue an outbox item again"),
            ("discard_outboxitem", "Can discard a queued outbox item"),
        ]

    def __str__(self) -> str:
        return f"{self.session_name} #{self.pk} {self.kind} to {self.chat} ({self.state})"


class HandledMessage(models.Model):
    """An incoming message id the bot has answered, so a redelivery after a restart is not handled again.

    Written in the same transaction as the replies it produced; pruned by ``bot.retention``.
    """

    session_name = models.CharField(max_length=64)
    message_id = models.CharField(max_length=128)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "message_id"], name="bot_handled_unique_message")
        ]

    def __str__(self) -> str:
        return f"{self.session_name} {self.message_id}"
