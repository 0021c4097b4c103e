"""Admin of the settings owners change from the chat: runtime settings and chat languages.

Part of :mod:`bot.admin` (the web process). A row is checked like ``.setvar`` checks it (the
variable's own parser and bounds, chat-settable names only), so the bot child never reads a value
the environment would refuse; the child sees a change within a few seconds, without a restart.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin

from bot.models import ChatLanguage, RuntimeSetting
from bot.runtime_settings import SettingRefused, runtime_set_check


class RuntimeSettingForm(forms.ModelForm):
    class Meta:
        model = RuntimeSetting
        fields = ("session_name", "name", "value")

    def clean(self) -> dict:
        data = super().clean()
        try:
            data["name"] = runtime_set_check(data.get("name") or "", data.get("value") or "").name
        except SettingRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(RuntimeSetting)
class RuntimeSettingAdmin(admin.ModelAdmin):
    form = RuntimeSettingForm
    list_display = ("session_name", "name", "value", "set_by", "updated_at")
    list_filter = ("session_name", "name")
    search_fields = ("name", "value")


class ChatLanguageForm(forms.ModelForm):
    language = forms.ChoiceField(choices=settings.LANGUAGES)

    class Meta:
        model = ChatLanguage
        fields = ("session_name", "chat", "language")


@admin.register(ChatLanguage)
class ChatLanguageAdmin(admin.ModelAdmin):
    form = ChatLanguageForm
    list_display = ("chat", "session_name", "language", "set_by", "updated_at")
    list_filter = ("language", "session_name")
    search_fields = ("chat",)
