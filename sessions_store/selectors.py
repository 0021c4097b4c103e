"""Reads of the sessions_store tables (the archive bytes are loaded only where they are needed)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import SessionBackup, WhatsAppSession


def session_find(*, name: str) -> WhatsAppSession | None:
    return WhatsAppSession.objects.filter(name=name).first()


def sessions_list(*, name: str | None = None) -> QuerySet[WhatsAppSession]:
    sessions = WhatsAppSession.objects.order_by("name")
    return sessions.filter(name=name) if name else sessions


def backups_list(*, session_name: str | None = None, states: tuple[str, ...] | None = None) -> QuerySet[SessionBackup]:
    """Backups newest first, without their archive bytes."""
    backups = (
        SessionBackup.objects.select_related("session").defer("archive").order_by("session__name", "-created_at", "-id")
    )
    if session_name:
        backups = backups.filter(session__name=session_name)
    if states:
        backups = backups.filter(state__in=states)
    return backups


def backup_newest_verified(*, session_name: str) -> SessionBackup | None:
    return (
        backups_list(session_name=session_name, states=(SessionBackup.State.VERIFIED,))
        .order_by("-created_at", "-id")
        .first()
    )


def backup_archive_bytes(*, backup_id: int) -> bytes:
    return bytes(SessionBackup.objects.values_list("archive", flat=True).get(pk=backup_id))


def session_names(*, name: str | None = None) -> list[str]:
    """``[name]`` when given, else every known session (``default`` when there is none yet)."""
    if name:
        return [name]
    return list(WhatsAppSession.objects.order_by("name").values_list("name", flat=True)) or ["default"]
