"""A session's beginning and end in the admin: the "add session" form (name and pairing method only),
"pair with a phone number" and "remove with everything it owns". Part of :mod:`bot.admin`, loaded
wherever ``django.contrib.admin`` is (the web process).

Pairing goes through the control table to the supervisor that owns the session (it restarts its
child with the number); removal runs here, because it needs only the database and the live store.
Each action has its own permission (``sessions_store.pair_session``, ``sessions_store.remove_session``).
"""

from __future__ import annotations

import logging

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from bot.control import ControlError, control_request, pair_phone_parse
from bot.session_removal import session_remove_everything
from sessions_store.models import WhatsAppSession
from sessions_store.services import SessionLeaseLive, SessionStoreError, session_name_check
from sessions_store.store import store_key

logger = logging.getLogger(__name__)


def session_name_free(*, taken: set[str] | None = None) -> str:
    """The name the add form suggests: ``default`` while free, else ``session-2``, ``session-3``… (free as a
    store too: ``session_2`` has the store of ``session-2``)."""
    taken = set(WhatsAppSession.objects.values_list("name", flat=True)) if taken is None else taken
    keys = {store_key(name) for name in taken}
    if "default" not in keys:
        return "default"
    number = 2
    while store_key(f"session-{number}") in keys:
        number += 1
    return f"session-{number}"


class SessionAddForm(forms.ModelForm):
    """What an operator must choose for a new session; everything else the bot fills in."""

    pairing = forms.ChoiceField(
        choices=[("qr", "Scan a QR code on the pairing page"), ("phone", "Type a code sent to a phone number")],
        initial="qr",
        widget=forms.RadioSelect,
        label="Pairing method",
    )
    phone = forms.CharField(
        required=False,
        max_length=32,
        label="Phone number",
        help_text="For phone pairing: the WhatsApp account's number, country code first (e.g. +49 151 23456789).",
    )

    class Meta:
        model = WhatsAppSession
        fields = ["name"]
        help_texts = {"name": "Letters, digits, - and _. The worker runs it as runbot --session NAME (or --all)."}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if WhatsAppSession.objects.filter(name=name).exists():
            raise forms.ValidationError(f"A session named {name!r} exists already; try {session_name_free()!r}.")
        try:
            session_name_check(name)  # one store per session: 'Sales' next to 'sales' would share one
        except SessionStoreError as exc:
            raise forms.ValidationError(str(exc)) from None
        return name

    #: Set by the admin from the user's ``pair_session`` permission: a phone code is a pairing request.
    may_pair: bool = False

    def clean(self) -> dict:
        data = super().clean()
        if data.get("pairing") == "phone" and not self.may_pair:
            self.add_error(
                "pairing", "Asking for a phone code needs the permission to pair sessions; choose the QR code."
            )
        elif data.get("pairing") == "phone":
            try:
                data["phone"] = pair_phone_parse(data.get("phone", ""))
            except ControlError as exc:
                self.add_error("phone", str(exc))
        return data


def pairing_after_add(request: HttpRequest, session: WhatsAppSession, form: forms.Form) -> None:
    """After "add session": ask for a phone code when the operator chose it, and say where to go next."""
    if form.cleaned_data.get("pairing") != "phone":
        messages.info(request, f"Session {session.name} added: start the worker and scan the QR on /pair/.")
        return
    control_request(
        session_name=session.name, action="pair_phone", args={"phone": form.cleaned_data["phone"]}, user=request.user
    )
    messages.info(
        request,
        f"Session {session.name} added; its bot asks for a pairing code for the number ending "
        f"{form.cleaned_data['phone'][-4:]} once a worker runs it (the code appears on /pair/).",
    )


class PairPhoneAdminForm(forms.Form):
    phone = forms.CharField(max_length=32, label="Phone number")

    def clean_phone(self) -> str:
        try:
            return pair_phone_parse(self.cleaned_data["phone"])
        except ControlError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.action(description="Pair with a phone number…", permissions=["pair_session"])
def pair_by_phone(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]):
    if queryset.count() != 1:
        messages.error(request, "Select exactly one session to pair.")
        return None
    session = queryset.get()
    form = PairPhoneAdminForm(request.POST if request.POST.get("confirm") == "yes" else None)
    if form.is_bound and form.is_valid():
        control_request(
            session_name=session.name,
            action="pair_phone",
            args={"phone": form.cleaned_data["phone"]},
            user=request.user,
        )
        messages.success(
            request,
            f"Asked the bot of {session.name} for a pairing code for the number ending "
            f"{form.cleaned_data['phone'][-4:]}: it appears on the pairing page within a few seconds.",
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Pair session {session.name} with a phone number",
        "session": session,
        "form": form,
        "queryset": queryset,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/sessions_store/pair_phone.html", context)


@admin.action(description="Remove with everything it owns…", permissions=["remove_session"])
def remove_sessions(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]):
    """Asks first (listing what goes); a session a worker holds is refused unless "force" is ticked."""
    names = sorted(queryset.values_list("name", flat=True))
    if request.POST.get("confirm") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Remove these sessions?",
            "sessions": queryset.prefetch_related("backups").order_by("name"),
            "queryset": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        }
        return TemplateResponse(request, "admin/sessions_store/remove_confirm.html", context)
    force = request.POST.get("force") == "yes"
    for name in names:
        try:
            removed = session_remove_everything(name=name, force=force)
        except SessionLeaseLive as exc:
            messages.error(request, str(exc).replace("with --force", 'by ticking "remove even if a worker holds it"'))
            continue
        logger.info("session removed from the admin", extra={"session": name, "user": request.user.get_username()})
        messages.success(request, removed.summary())
    return None
