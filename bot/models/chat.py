"""Chat-side state the commands persist: settings, reaction commands, bans, group options, warnings."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


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
    """Per-group options set by group admins (moderation rules: ``bot.models.moderation``)."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    welcome = models.BooleanField(default=False)
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
