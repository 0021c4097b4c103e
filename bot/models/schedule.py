"""Scheduled messages and timed mutes, what became of each occurrence, and each chat's time zone."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class ScheduledMessage(models.Model):
    """A message (or a group mute/unmute) a chat asked for at set times (``.schedule``, ``.automute``, ``.mute 30m``).

    The timing is a ``bot.schedule_rules.Rule`` as JSON, read in ``time_zone``. Each pending occurrence
    is one django-q2 ``Schedule`` row (type once, named ``bot.scheduled.<id>``) that the task replaces
    with the next one after it ran, so the worker's cluster fires it after restarts too.
    """

    class Kind(models.TextChoices):
        MESSAGE = "message"
        MUTE = "mute"
        UNMUTE = "unmute"

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MESSAGE)
    rule = models.JSONField(help_text="When: a bot.schedule_rules.Rule as JSON.")
    text = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    created_by = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_run = models.DateTimeField(null=True, blank=True, help_text="The pending occurrence (UTC); empty when done.")
    active = models.BooleanField(default=True)
    sent_count = models.PositiveIntegerField(default=0, help_text="Occurrences queued in the outbox.")
    skipped_count = models.PositiveIntegerField(default=0, help_text="Occurrences missed for too long, not sent.")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session_name", "chat", "active"], name="bot_scheduled_chat")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} in {self.chat}"


class ScheduleOccurrence(models.Model):
    """One run of the task for one occurrence: unique per schedule and time, written in the same
    transaction as its outbox rows, so a second run of the same occurrence (a standby's cluster, a
    retry) finds it and writes nothing."""

    class Outcome(models.TextChoices):
        QUEUED = "queued"
        SKIPPED = "skipped"

    schedule = models.ForeignKey(ScheduledMessage, on_delete=models.CASCADE, related_name="occurrences")
    due_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    sent_for = models.DateTimeField(null=True, blank=True, help_text="The occurrence sent (the newest one missed).")
    skipped = models.PositiveIntegerField(default=0, help_text="Occurrences this run recorded as skipped.")
    late_seconds = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-due_at"]
        constraints = [models.UniqueConstraint(fields=["schedule", "due_at"], name="bot_schedule_occurrence_once")]

    def __str__(self) -> str:
        return f"#{self.schedule_id} at {self.due_at:%Y-%m-%d %H:%M} {self.outcome}"


class ChatTimeZone(models.Model):
    """A chat's own time zone (``.tz Europe/Berlin``); chats without one use ``SCHEDULE_TIME_ZONE``."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    time_zone = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "chat"], name="bot_chattimezone_unique_chat")]

    def __str__(self) -> str:
        return f"{self.chat}: {self.time_zone}"


class PendingOccurrence(models.Model):
    """django-q2's ``Schedule`` table as the bot writes it: one once-row per pending occurrence.

    Unmanaged (django-q2's migrations own the table): the bot child, which never loads the
    ``django_q`` app, arms a new schedule through it, and the worker's task re-arms through it too.
    Only the columns the bot sets are declared (always set; the others are nullable in django-q2 1.11).
    """

    ONCE = "O"

    name = models.CharField(max_length=100)
    func = models.CharField(max_length=256)
    kwargs = models.TextField()
    schedule_type = models.CharField(max_length=2, default=ONCE)
    repeats = models.IntegerField(default=-1)
    next_run = models.DateTimeField(null=True)
    intended_date_kwarg = models.CharField(max_length=100)

    class Meta:
        managed = False
        db_table = "django_q_schedule"

    def __str__(self) -> str:
        return f"{self.name} at {self.next_run}"
