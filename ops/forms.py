"""The forms of the web dyno's operator pages (gunicorn): what ``/pair/`` accepts from a browser."""

from __future__ import annotations

from django import forms

from bot.control import ControlError, pair_phone_parse


class PairPhoneForm(forms.Form):
    """A phone number in international format, for pairing without scanning a QR code."""

    session = forms.SlugField(max_length=48)
    phone = forms.CharField(
        max_length=32,
        label="Phone number",
        help_text="The WhatsApp account's number, country code first (e.g. +49 151 23456789).",
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "+49 151 23456789", "id": "pair-phone"}
        ),
    )

    def clean_phone(self) -> str:
        try:
            return pair_phone_parse(self.cleaned_data["phone"])
        except ControlError as exc:
            raise forms.ValidationError(str(exc)) from exc
