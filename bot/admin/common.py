"""What the bot's admin modules share: queueing an operator action through the control table, and a
read-only admin for the rows the bot writes. Imported by :mod:`bot.admin.status` and
:mod:`bot.admin.sessions`, in whichever process loads ``django.contrib.admin`` (the web process).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib import admin, messages
from django.http import HttpRequest

from bot.control import control_pending_exists, control_request


def queue_for_sessions(request: HttpRequest, *, session_names: Iterable[str], action: str, label: str) -> None:
    """Queue ``action`` once per session (skipping one already waiting) and tell the operator."""
    queued, waiting = [], []
    for name in sorted(set(session_names)):
        if control_pending_exists(session_name=name, action=action):
            waiting.append(name)
            continue
        control_request(session_name=name, action=action, user=request.user)
        queued.append(name)
    if queued:
        messages.success(
            request,
            f"{label} requested for {', '.join(queued)}; the bot picks it up within a few seconds "
            "(outcome under Control commands).",
        )
    if waiting:
        messages.warning(request, f"{label} already waiting for {', '.join(waiting)}; not queued again.")


class OperatorActionPermissions:
    """``has_<permission>_permission`` for ``@admin.action(permissions=[...])``: each operator action
    is offered (and accepted) only to users holding its own permission, never for "view"."""

    def has_request_backup_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.request_backup")

    def has_verify_backups_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.verify_backups")

    def has_restore_backup_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.restore_backup")

    def has_request_reconnect_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.request_reconnect")

    def has_request_restart_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.request_restart")

    def has_export_session_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("bot.export_session")


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows the bot writes: look, filter, search; never edit by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
