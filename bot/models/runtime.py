"""Settings an owner changes from the chat: per-session overrides of declared variables, and a chat's language.

Read by the bot child through ``bot.runtime_settings`` (cached a few seconds, so a row changed in
the admin lands without a restart); written by ``.setvar``/``.delvar`` and ``.lang``.
"""

from __future__ import annotations

from django.db import models

#: Longest text a runtime setting may hold: the longest sensible value (100 owner numbers) fits.
VALUE_MAX_CHARS = 2000


class RuntimeSetting(models.Model):
    """A session's value for a variable declared with ``chat=True``; it wins over the environment.

    ``value`` is the text as typed, parsed again on every read by the variable's own parser, so a
    row an older version accepted and a newer one refuses is ignored (with one log line), never used.
    """

    session_name = models.CharField(max_length=64)
    name = models.CharField(max_length=64, help_text="The variable's canonical name, e.g. BOT_PREFIX.")
    value = models.TextField(max_length=VALUE_MAX_CHARS)
    set_by = models.CharField(max_length=32, blank=True, help_text="Phone digits of the owner who set it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "name"], name="bot_runtime_setting_unique")]
        ordering = ["session_name", "name"]

    def __str__(self) -> str:
        return f"{self.session_name}.{self.name}"


class ChatLanguage(models.Model):
    """The language one chat chose with ``.lang``; without a row the session's BOT_LANG applies."""

    session_name = models.CharField(max_length=64)
    chat = models.CharField(max_length=128)
    language = models.CharField(max_length=8)
    set_by = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session_name", "chat"], name="bot_chat_language_unique")]

    def __str__(self) -> str:
        return f"{self.chat}: {self.language}"
