"""Moderation rows: each rule's switch, action and allow-list per group, the warning policy, the log.

Written by the bot child (the group admins' commands, the moderator) and by the admin (the web);
read by the child's rule book (``bot.dispatch.rulebook``) and by /stats (``ops.selectors.moderation``).
Values are checked by ``bot.moderation_settings`` before they are stored, wherever they come from.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

#: The chat of the one session-wide row a rule may have (the global word list of antibadword).
GLOBAL_CHAT = "*"


class ModerationRule(models.Model):
    """One rule of one group: on/off, what the bot does on a hit, and the rule's own lists and options.

    ``allow`` is the allow-list: domains (antilink), calling codes let in (antifake), else member
    numbers the rule never touches. ``block`` is the deny side: words (antibadword), calling codes
    kept out (antifake). ``options`` holds the rule's knobs: ``level`` (antispam), ``threshold``
    (antimention), ``global`` (antibadword: the session-wide list too).
    """

    class Rule(models.TextChoices):
        ANTILINK = "antilink"
        ANTISPAM = "antispam"
        ANTIBADWORD = "antibadword"
        ANTIFAKE = "antifake"
        ANTIBOT = "antibot"
        ANTIMENTION = "antimention"

    class Action(models.TextChoices):
        DELETE = "delete"
        WARN = "warn"
        KICK = "kick"
        NONE = "none"

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128, help_text=f"The group's JID, or {GLOBAL_CHAT} for the session-wide row.")
    rule = models.CharField(max_length=16, choices=Rule.choices)
    enabled = models.BooleanField(default=False)
    action = models.CharField(max_length=8, choices=Action.choices, default=Action.WARN)
    allow = models.JSONField(default=list, blank=True)
    block = models.JSONField(default=list, blank=True)
    options = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session_name", "chat", "rule"], name="bot_moderationrule_unique")
        ]
        ordering = ["session_name", "chat", "rule"]

    def __str__(self) -> str:
        return f"{self.rule} in {self.chat}: {'on' if self.enabled else 'off'} ({self.action})"


class WarnPolicy(models.Model):
    """How warnings work in one group: how many remove a member, what the warning says, when they fade."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    limit = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: WARN_LIMIT.")
    template = models.TextField(blank=True, help_text="Placeholders: {mention} {count} {limit} {remaining}.")
    decay_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: WARN_DECAY_DAYS.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "chat"], name="bot_warnpolicy_unique")]
        verbose_name_plural = "warn policies"

    def __str__(self) -> str:
        return self.chat


class ModerationLog(models.Model):
    """One thing the bot did (or, with action ``none``, only noticed) to a member, and why."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    member = models.CharField(max_length=128, help_text="Phone digits, or the LID user when no number is known.")
    rule = models.CharField(max_length=16, help_text="A rule's name, or 'manual' for an admin's .warn.")
    action = models.CharField(max_length=8)
    excerpt = models.CharField(max_length=120, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    messages = models.PositiveIntegerField(default=1, help_text="Messages this entry covers (a flood's deletes).")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["session_name", "at"], name="bot_modlog_session_at")]

    def __str__(self) -> str:
        return f"{self.action} {self.member} in {self.chat} ({self.rule})"
