"""Web -> worker requests and the webhook deliveries they and the events cause."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ControlCommand(models.Model):
    """An operator's request that the bot must carry out; the supervisor polls and records the outcome."""

    class Action(models.TextChoices):
        BACKUP = "backup"
        VERIFY = "verify"
        RESTORE = "restore"
        RECONNECT = "reconnect"
        RESTART = "restart"
        REFRESH_QR = "refresh_qr"
        PAIR_PHONE = "pair_phone"

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    session_name = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=16, choices=Action.choices)
    args = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["state", "session_name"], name="bot_control_pending")]
        # One permission per operator action (bot.control.ACTION_PERMISSIONS): seeing the admin is not
        # being allowed to act. Pairing (refresh_qr, pair_phone) is sessions_store.pair_session.
        permissions = [
            ("request_backup", "Can ask for a session backup now"),
            ("verify_backups", "Can verify stored backups"),
            ("restore_backup", "Can restore a backup into the live session"),
            ("request_reconnect", "Can force a session's bot to reconnect"),
            ("request_restart", "Can restart a session's bot"),
            ("export_session", "Can export a session for env vars"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.session_name} ({self.state})"


class WebhookDelivery(models.Model):
    """One connection webhook POST and how it ended (failures are counted on /stats)."""

    session_name = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    event = models.JSONField(default=dict)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.session_name} {self.at:%Y-%m-%d %H:%M:%S} ok={self.ok}"
