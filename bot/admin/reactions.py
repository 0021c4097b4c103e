"""Admin of the reaction commands declared for imported GIFs: edit the words and captions, checked
like ``import_gifs`` checks them. Part of :mod:`bot.admin` (the web process)."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from bot.models import ReactionCommand
from bot.reaction_commands import Declaration, DeclarationError, declaration_check, declarations_clashes


class ReactionCommandForm(forms.ModelForm):
    aliases = forms.CharField(required=False, help_text="Comma-separated other words.")

    class Meta:
        model = ReactionCommand
        fields = ("name", "aliases", "asset", "caption_target", "caption_alone", "emoji", "help")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["aliases"] = ", ".join(self.instance.aliases or [])

    def clean(self) -> dict:
        data = super().clean()
        aliases = tuple(a for a in (data.get("aliases") or "").split(",") if a.strip())
        try:
            checked = declaration_check(
                Declaration(
                    data.get("name") or "",
                    aliases,
                    data.get("caption_target") or "",
                    data.get("caption_alone") or "",
                    data.get("emoji") or "",
                    data.get("help") or "",
                )
            )
        except DeclarationError as exc:
            raise forms.ValidationError(str(exc)) from None
        own = [self.instance.name] if self.instance.pk else []
        [clash] = declarations_clashes([checked], except_names=own)
        if clash:
            raise forms.ValidationError(clash)
        data.update(
            name=checked.name,
            aliases=list(checked.aliases),
            caption_target=checked.caption_target,
            caption_alone=checked.caption_alone,
            help=checked.help,
        )
        return data


@admin.register(ReactionCommand)
class ReactionCommandAdmin(admin.ModelAdmin):
    form = ReactionCommandForm
    list_display = ("name", "asset", "caption_target", "emoji", "updated_at")
    search_fields = ("name", "asset__name")
    autocomplete_fields = ("asset",)
