"""Admin of the groups' greetings: the templates checked as ``.welcome set`` checks them. Part of
:mod:`bot.admin` (the web process)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from bot.greeting_templates import TemplateRefused, template_check
from bot.models import GreetingSettings


class GreetingSettingsForm(forms.ModelForm):
    class Meta:
        model = GreetingSettings
        fields = ("session_name", "chat", "welcome_text", "goodbye_text", "goodbye", "with_image", "role_notices")

    def _template(self, name: str) -> str:
        text = self.cleaned_data.get(name) or ""
        if not text.strip():
            return ""
        try:
            return template_check(text)
        except TemplateRefused as refused:
            raise forms.ValidationError(str(refused)) from None

    def clean_welcome_text(self) -> str:
        return self._template("welcome_text")

    def clean_goodbye_text(self) -> str:
        return self._template("goodbye_text")


@admin.register(GreetingSettings)
class GreetingSettingsAdmin(admin.ModelAdmin):
    form = GreetingSettingsForm
    list_display = ("chat", "session_name", "goodbye", "with_image", "role_notices", "updated_at")
    search_fields = ("chat", "welcome_text", "goodbye_text")
