"""Who called and was told, and who is away: the state of anti-call and ``.afk``, per session."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class CallNotice(models.Model):
    """One caller the bot rejected: how many calls, and when it last sent them CALL_REJECT_MESSAGE.

    One row per caller, updated in place, so a flood of calls from one number is one row and one
    message an hour, across restarts too. Rows idle for a day are pruned by ``bot.retention``.
    """

    session_name = models.CharField(max_length=64)
    caller = models.CharField(max_length=64, help_text="Phone digits, or the LID user when no phone is known.")
    rejected = models.PositiveIntegerField(default=0)
    last_call_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When the caller was last sent the message.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "caller"], name="bot_call_notice_unique")]
        indexes = [models.Index(fields=["last_call_at"], name="bot_call_notice_age")]

    def __str__(self) -> str:
        return f"{self.session_name} {self.caller} ({self.rejected} rejected)"


class AwayStatus(models.Model):
    """A user who said ``.afk``: mentions of them get the reason; their next message clears it."""

    session_name = models.CharField(max_length=64)
    user = models.CharField(max_length=64, help_text="Phone digits, or the LID user when no phone is known.")
    identities = models.JSONField(default=list, blank=True, help_text="Every JID user they are known by (phone, LID).")
    reason = models.CharField(max_length=500, blank=True)
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "user"], name="bot_away_unique_user")]
        verbose_name_plural = "away statuses"

    def __str__(self) -> str:
        return f"{self.session_name} {self.user} away since {self.since:%Y-%m-%d %H:%M}"
