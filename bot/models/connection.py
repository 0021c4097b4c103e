"""Connection history and status the child writes and the web reads: states, events, beats, minute stats, the phone's age."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ConnectionState(models.TextChoices):
    STARTING = "starting"
    RESTORING = "restoring"
    CONNECTING = "connecting"
    PAIRING = "pairing"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    LOGGED_OUT = "logged_out"
    REPLACED = "replaced"
    BANNED = "banned"
    OUTDATED = "outdated"
    STOPPED = "stopped"


class ConnectionEvent(models.Model):
    """One state transition of one session's connection (states in docs/architecture.md)."""

    session_name = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    from_state = models.CharField(max_length=16, choices=ConnectionState.choices)
    to_state = models.CharField(max_length=16, choices=ConnectionState.choices)
    reason = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["session_name", "-at"], name="bot_connev_session_at")]

    def __str__(self) -> str:
        return f"{self.session_name}: {self.from_state} -> {self.to_state} ({self.reason})"


class ReconnectEvent(models.Model):
    """One reconnect attempt: why, how long it waited, how it ended."""

    class Outcome(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        GAVE_UP = "gave_up"

    session_name = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    attempt = models.PositiveIntegerField()
    delay_seconds = models.FloatField()
    reason = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["session_name", "-at"], name="bot_reconnev_session_at")]

    def __str__(self) -> str:
        return f"{self.session_name} #{self.attempt} {self.reason} -> {self.outcome}"


class ReconnectHour(models.Model):
    """Reconnect attempts per session, hour and reason, counted as each attempt is recorded.

    /stats shows 24 hours of reconnects on every request; counting them from the event rows grew
    with the history, so the writer keeps this tally and the page reads at most 24 x reasons rows.
    """

    session_name = models.CharField(max_length=64)
    hour = models.DateTimeField()
    reason = models.CharField(max_length=64)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "hour", "reason"], name="bot_reconnhour_unique")]

    def __str__(self) -> str:
        return f"{self.session_name} {self.hour:%Y-%m-%d %H}:00 {self.reason}: {self.count}"


class BotStatus(models.Model):
    """The current state of one session's bot, written by the supervisor from child heartbeats."""

    session_name = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=16, choices=ConnectionState.choices, default=ConnectionState.STARTING)
    state_since = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=64, blank=True)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    process_started_at = models.DateTimeField(null=True, blank=True)
    connected_since = models.DateTimeField(null=True, blank=True)
    host = models.CharField(max_length=128, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    child_pid = models.PositiveIntegerField(null=True, blank=True)
    rss_bytes = models.BigIntegerField(default=0)
    messages_in = models.BigIntegerField(default=0)
    messages_out = models.BigIntegerField(default=0)
    child_restarts = models.PositiveIntegerField(default=0)
    detail = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "bot statuses"

    def __str__(self) -> str:
        return f"{self.session_name}: {self.state}"


class MessageStat(models.Model):
    """Pre-aggregated counters per session and time bucket (a minute, or an hour after roll-up).

    The child flushes in-memory counters here every few seconds, never one write per message.
    """

    class Resolution(models.TextChoices):
        MINUTE = "minute"
        HOUR = "hour"

    session_name = models.CharField(max_length=64)
    bucket = models.DateTimeField()
    resolution = models.CharField(max_length=8, choices=Resolution.choices, default=Resolution.MINUTE)
    messages_in = models.PositiveIntegerField(default=0)
    messages_out = models.PositiveIntegerField(default=0)
    commands = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    by_command = models.JSONField(default=dict, blank=True)
    rss_max_bytes = models.BigIntegerField(default=0)
    counts = models.JSONField(
        default=dict, blank=True, help_text="What went wrong, by key: undecryptable:failed, send_failure:other..."
    )

    class Meta:
        ordering = ["-bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["session_name", "resolution", "bucket"], name="bot_messagestat_unique_bucket"
            )
        ]
        indexes = [models.Index(fields=["resolution", "bucket"], name="bot_msgstat_res_bucket")]

    def __str__(self) -> str:
        return f"{self.session_name} {self.resolution} {self.bucket:%Y-%m-%d %H:%M}"


class PhoneWatch(models.Model):
    """When the account's primary phone was last seen, and which unlink warnings went out.

    WhatsApp unlinks a companion device (this bot) when the phone stays offline for about 14 days;
    the bot warns its owners at 10, 12 and 13 days (``bot.phone_watch``). A row per session, kept in
    the database because the age spans many dyno restarts.
    """

    session_name = models.CharField(max_length=64, unique=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of the phone (device 0).")
    last_seen_how = models.CharField(max_length=16, blank=True, help_text="message, receipt or probe")
    watched_since = models.DateTimeField(default=timezone.now, help_text="The age counts from here if never seen.")
    warned_days = models.PositiveSmallIntegerField(default=0, help_text="Highest warning threshold already sent.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.session_name}: phone last seen {self.last_seen_at or 'never'}"
