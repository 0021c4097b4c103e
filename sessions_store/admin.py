"""Admin of the sessions_store app: the archive bytes and pairing codes' secrets are never rendered.

Loaded wherever ``django.contrib.admin`` is (the web process). The operator actions on sessions
and backups go through the worker's control table, which the bot app owns; this app never imports
``bot``, so the bot's admin subclasses these two admins and registers the subclasses in their place.
"""

from __future__ import annotations

from django.contrib import admin

from .models import PairingCode, SessionBackup, SessionLease, SessionLock, WhatsAppSession


@admin.register(WhatsAppSession)
class WhatsAppSessionAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "jid", "store_backend", "paired_at", "last_connected_at", "last_backup_at")
    list_filter = ("status", "store_backend")
    search_fields = ("name", "jid", "push_name")
    readonly_fields = (
        "store_key",
        "credentials_fingerprint",
        "credentials_exported_at",
        "store_generation",
        "created_at",
        "updated_at",
    )


@admin.register(SessionBackup)
class SessionBackupAdmin(admin.ModelAdmin):
    list_display = ("id", "session", "created_at", "reason", "state", "raw_size", "stored_size", "key_id")
    list_filter = ("state", "reason", "session")
    exclude = ("archive",)
    readonly_fields = (
        "session",
        "created_at",
        "reason",
        "format_version",
        "source_backend",
        "device_jid",
        "raw_size",
        "stored_size",
        "sha256",
        "content_sha256",
        "key_id",
        "archive_id",
        "store_generation",
        "state",
        "state_reason",
        "verified_at",
        "row_counts",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).defer("archive")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SessionLease)
class SessionLeaseAdmin(admin.ModelAdmin):
    list_display = ("session", "holder", "fencing", "renewed_at", "expires_at")
    exclude = ("token",)
    readonly_fields = (
        "session",
        "holder",
        "holder_host",
        "holder_pid",
        "fencing",
        "acquired_at",
        "renewed_at",
        "expires_at",
    )


@admin.register(SessionLock)
class SessionLockAdmin(admin.ModelAdmin):
    """Read-only: a lock whose holder is gone is taken over by the next backup or restore by itself."""

    list_display = ("session", "kind", "holder_host", "holder_pid", "lease_fencing", "acquired_at")
    list_filter = ("kind",)
    exclude = ("token", "lease_token")
    readonly_fields = ("session", "kind", "holder_host", "holder_pid", "holder_started", "lease_fencing", "acquired_at")

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(token="")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PairingCode)
class PairingCodeAdmin(admin.ModelAdmin):
    list_display = ("session", "kind", "created_at", "expires_at", "consumed")
    list_filter = ("kind", "consumed")
    exclude = ("code",)
    readonly_fields = ("session", "kind", "created_at", "expires_at", "consumed")
