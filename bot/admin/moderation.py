"""Admin of group moderation: the rules and warn policies (edited, checked like the group admins'
commands check them) and the moderation log (read-only). Part of :mod:`bot.admin` (the web process).

The bot child reads rules and policies through its rule book, so an edit here lands within its
reload interval (30 s) without a restart.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from bot.admin.common import ReadOnlyAdmin
from bot.models import ModerationLog, ModerationRule, WarnPolicy
from bot.moderation_settings import SettingsError, rule_values_check, template_check


class ModerationRuleForm(forms.ModelForm):
    class Meta:
        model = ModerationRule
        fields = ("session_name", "chat", "rule", "enabled", "action", "allow", "block", "options")

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        allow, block, options = data.get("allow") or [], data.get("block") or [], data.get("options") or {}
        if not isinstance(allow, list) or not isinstance(block, list) or not isinstance(options, dict):
            raise forms.ValidationError("allow and block are JSON lists, options a JSON object.")
        try:
            values = rule_values_check(
                data.get("rule") or "", action=data.get("action") or "", allow=allow, block=block, options=options
            )
        except SettingsError as exc:
            raise forms.ValidationError(str(exc)) from None
        data.update(allow=list(values.allow), block=list(values.block), options=dict(values.options))
        return data


@admin.register(ModerationRule)
class ModerationRuleAdmin(admin.ModelAdmin):
    form = ModerationRuleForm
    list_display = ("chat", "rule", "enabled", "action", "session_name", "updated_at")
    list_filter = ("rule", "enabled", "action", "session_name")
    search_fields = ("chat",)


class WarnPolicyForm(forms.ModelForm):
    class Meta:
        model = WarnPolicy
        fields = ("session_name", "chat", "limit", "template", "decay_days")

    def clean_template(self) -> str:
        try:
            return template_check(self.cleaned_data.get("template") or "")
        except SettingsError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_limit(self) -> int | None:
        limit = self.cleaned_data.get("limit")
        if limit is not None and not 1 <= limit <= 100:
            raise forms.ValidationError("From 1 to 100 warnings.")
        return limit


@admin.register(WarnPolicy)
class WarnPolicyAdmin(admin.ModelAdmin):
    form = WarnPolicyForm
    list_display = ("chat", "limit", "decay_days", "session_name", "updated_at")
    list_filter = ("session_name",)
    search_fields = ("chat",)


@admin.register(ModerationLog)
class ModerationLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "chat", "member", "rule", "action", "messages", "excerpt", "session_name")
    list_filter = ("rule", "action", "session_name")
    search_fields = ("chat", "member", "excerpt", "detail")
    date_hierarchy = "at"

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the record of what the bot did; retention prunes it, never a hand
