"""What the bot runtime records: connection history, live status, per-minute stats, operator
controls, and the chat-side state commands persist (settings, bans, group options, warnings).

The web dyno and the worker share only the database, so everything an operator sees or asks for
goes through these tables.
"""

from __future__ import annotations

from django.conf import settings
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


class BotSetting(models.Model):
    """Run-time settings an owner changes from WhatsApp (prefix, maintenance mode), per session."""

    session_name = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "key"], name="bot_setting_unique_key")]

    def __str__(self) -> str:
        return f"{self.session_name}.{self.key}={self.value!r}"


class ReactionCommand(models.Model):
    """A reaction command an operator declared for an imported GIF (``.boing @bob``), no code needed.

    Read by the bot child's registry (``bot.dispatch.gif_commands``) every few seconds, so a GIF
    imported while the bot runs answers without a restart. The captions are templates with
    ``{actor}`` and ``{target}`` (the mentions), checked by ``bot.reaction_commands`` before saving.
    """

    name = models.CharField(max_length=40, unique=True, help_text="The command word, without the prefix.")
    aliases = models.JSONField(default=list, blank=True, help_text="Other words for the same command.")
    asset = models.ForeignKey("media_cdn.GifAsset", on_delete=models.CASCADE, related_name="commands")
    caption_target = models.CharField(max_length=200, help_text="With someone: '{actor} boings {target}'.")
    caption_alone = models.CharField(max_length=200, help_text="With nobody: '{actor} boings around'.")
    emoji = models.CharField(max_length=16, blank=True, default="")
    help = models.CharField(max_length=120, blank=True, default="", help_text="The line shown in .menu.")  # noqa: A003
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BannedUser(models.Model):
    """A user the bot ignores (owners are never blocked)."""

    session_name = models.CharField(max_length=64)
    phone = models.CharField(max_length=32, help_text="Phone number digits, or the LID user when no number is known.")
    reason = models.CharField(max_length=255, blank=True)
    banned_by = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "phone"], name="bot_banned_unique_user")]

    def __str__(self) -> str:
        return self.phone


class GroupSettings(models.Model):
    """Per-group options set by group admins."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    welcome = models.BooleanField(default=False)
    antilink = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "chat"], name="bot_groupsettings_unique_chat")]
        verbose_name_plural = "group settings"

    def __str__(self) -> str:
        return self.chat


class Warning(models.Model):  # noqa: A001 - the domain word; not the builtin
    """A warning given to a group member; the third one kicks."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    user = models.CharField(max_length=128)
    reason = models.CharField(max_length=255, blank=True)
    given_by = models.CharField(max_length=128, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["session_name", "chat", "user"], name="bot_warning_member")]

    def __str__(self) -> str:
        return f"{self.user} in {self.chat}"


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
