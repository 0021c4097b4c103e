"""Operator actions on WhatsApp sessions and their backups: the sessions_store admins extended with
actions that go through the bot's control table. Part of :mod:`bot.admin`, loaded wherever
``django.contrib.admin`` is (the web process).

They live in the bot app because the bot owns the control table; ``sessions_store`` never imports
``bot``, so its admins are subclassed here and re-registered in their place.

Back up now and restore need the live store, which is the worker's: they go through the control
table and the supervisor carries them out. Verifying backups and exporting for env vars need only
the database and the key, so they run here; verify is still recorded in the control table with
who asked and the outcome. Restore asks for confirmation first; the export shows each value's
size against Heroku's config-var limit and shows the values themselves to superusers only.
"""

from __future__ import annotations

import logging

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from bot.admin.common import OperatorActionPermissions, queue_for_sessions
from bot.admin.session_lifecycle import (
    SessionAddForm,
    pair_by_phone,
    pairing_after_add,
    remove_sessions,
    session_name_free,
)
from bot.control import ControlError, control_pending_exists, control_record, control_request
from sessions_store.admin import SessionBackupAdmin, WhatsAppSessionAdmin
from sessions_store.models import SessionBackup, WhatsAppSession
from sessions_store.services import backups_verify, session_export_env

logger = logging.getLogger(__name__)


def _verify_sessions(request: HttpRequest, names: list[str]) -> None:
    for name in sorted(set(names)):

        def run(name: str = name) -> str:
            results = backups_verify(session_name=name)
            bad = [r for r in results if not r.ok]
            return f"{len(results)} backup(s) checked, {len(results) - len(bad)} verified, {len(bad)} corrupt" + (
                "".join(f"; #{r.backup_id}: {r.detail}" for r in bad[:3])
            )

        command = control_record(session_name=name, action="verify", run=run, user=request.user)
        level = messages.SUCCESS if command.state == "done" else messages.ERROR
        messages.add_message(request, level, f"Verify {name}: {command.state}. {command.result}")


@admin.action(description="Back up now (through the control table)", permissions=["request_backup"])
def backup_now(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
    queue_for_sessions(request, session_names=queryset.values_list("name", flat=True), action="backup", label="Backup")


@admin.action(description="Verify the stored backups", permissions=["verify_backups"])
def verify_backups(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
    _verify_sessions(request, list(queryset.values_list("name", flat=True)))


@admin.action(description="Force reconnect (through the control table)", permissions=["request_reconnect"])
def force_reconnect(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
    queue_for_sessions(
        request, session_names=queryset.values_list("name", flat=True), action="reconnect", label="Reconnect"
    )


@admin.action(description="Restart the bot (through the control table)", permissions=["request_restart"])
def restart_bot(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
    queue_for_sessions(
        request, session_names=queryset.values_list("name", flat=True), action="restart", label="Restart"
    )


@admin.action(
    description="Export for env vars (WA_SESSION_DATA, WA_CREDENTIALS, WA_AUTH_STATE)", permissions=["export_session"]
)
def export_env(modeladmin, request: HttpRequest, queryset: QuerySet[WhatsAppSession]):
    if queryset.count() != 1:
        messages.error(request, "Select exactly one session to export.")
        return None
    session = queryset.get()
    try:
        export = session_export_env(session_name=session.name)
    except Exception as exc:  # SessionStoreError, a wrong key, a broken backup: a message, never a 500
        logger.warning("session export failed", extra={"session": session.name, "error": type(exc).__name__})
        messages.error(request, f"Could not export {session.name}: {exc}")
        return None
    logger.info(
        "session exported for env vars",
        extra={"session": session.name, "user": request.user.get_username(), "total_bytes": export.total},
    )
    rows = [
        {"name": name, "size": export.sizes[name], "value": export.values[name] if request.user.is_superuser else ""}
        for name in export.values
    ]
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Export session {session.name} for env vars",
        "session": session,
        "rows": rows,
        "total": export.total,
        "limit": export.limit,
        "fits": export.fits,
        "show_values": request.user.is_superuser,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/sessions_store/export_env.html", context)


@admin.action(description="Verify these backups", permissions=["verify_backups"])
def verify_selected_backups(modeladmin, request: HttpRequest, queryset: QuerySet[SessionBackup]) -> None:
    _verify_sessions(request, list(queryset.values_list("session__name", flat=True)))


@admin.action(description="Restore this backup into the live session…", permissions=["restore_backup"])
def restore_backup(modeladmin, request: HttpRequest, queryset: QuerySet[SessionBackup]):
    """Asks for confirmation; on confirm, the supervisor restores it (after a pre-restore backup)."""
    if queryset.count() != 1:
        messages.error(request, "Select exactly one backup to restore.")
        return None
    backup = queryset.select_related("session").defer("archive").get()
    if backup.state != SessionBackup.State.VERIFIED:
        messages.error(request, f"Backup #{backup.pk} is {backup.state}; only a verified backup can be restored.")
        return None
    session_name = backup.session.name
    if request.POST.get("confirm") == "yes":
        if control_pending_exists(session_name=session_name, action="restore"):
            messages.warning(request, f"A restore of {session_name} is already waiting; not queued again.")
            return None
        try:
            control_request(
                session_name=session_name, action="restore", args={"backup_id": backup.pk}, user=request.user
            )
        except ControlError as exc:
            messages.error(request, str(exc))
            return None
        messages.success(
            request,
            f"Restore of backup #{backup.pk} into {session_name} requested; the bot stops its connection, "
            "restores, and reconnects (outcome under Control commands).",
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Restore a backup?",
        "backup": backup,
        "session_name": session_name,
        "queryset": queryset,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/sessions_store/restore_confirm.html", context)


class WhatsAppSessionOperatorAdmin(OperatorActionPermissions, WhatsAppSessionAdmin):
    actions = [backup_now, verify_backups, force_reconnect, restart_bot, pair_by_phone, export_env, remove_sessions]
    list_display = (*WhatsAppSessionAdmin.list_display, "trial")
    list_filter = (*WhatsAppSessionAdmin.list_filter, "trial")

    def has_pair_session_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sessions_store.pair_session")

    def has_remove_session_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("sessions_store.remove_session")

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is None:  # "add session": the name and how to pair, nothing the bot fills in itself
            kwargs["form"] = SessionAddForm
            kwargs["fields"] = ["name", "pairing", "phone"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:  # refused in the form, with a sentence: control_request would refuse it after the save
            form.may_pair = request.user.has_perm("sessions_store.pair_session")
        return form

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "pairing", "phone"]})]
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        # A session's name is its store's and every bot row's key: it is chosen once, never edited.
        return () if obj is None else ("name", *super().get_readonly_fields(request, obj))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict:
        return {"name": session_name_free(), **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, obj, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            pairing_after_add(request, obj, form)


class SessionBackupOperatorAdmin(OperatorActionPermissions, SessionBackupAdmin):
    actions = [verify_selected_backups, restore_backup]


# Importing sessions_store.admin above registered its admins (autodiscover reaches it first anyway:
# INSTALLED_APPS lists sessions_store before bot); these take their place.
admin.site.unregister(WhatsAppSession)
admin.site.register(WhatsAppSession, WhatsAppSessionOperatorAdmin)
admin.site.unregister(SessionBackup)
admin.site.register(SessionBackup, SessionBackupOperatorAdmin)
