"""Who the WhatsApp sessions are and what state they are in; the bot child and the supervisor write it.

Rows of ``WhatsAppSession``: status, pairing, last connection, where the live store is.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Value
from django.db.models.functions import Lower, Replace
from django.utils import timezone

from sessions_store.models import WhatsAppSession
from sessions_store.store import (
    LiveStore,
    SessionNameError,
    SqliteStore,
    StoreError,
    session_name_taken_message,
    store_for,
    store_key,
    this_host,
    validate_session_name,
)

from .credentials import session_credentials_sync

logger = logging.getLogger("sessions_store.services")


class SessionStoreError(Exception):
    """An operation on a session could not be done; the message says why in one sentence."""


def session_name_clash(name: str) -> str | None:
    """The existing session whose live store ``name`` would share ('Sales' and 'sales', 'a-b' and 'a_b'), or None."""
    key = store_key(name)
    clash = (
        WhatsAppSession.objects.annotate(key=Lower(Replace("name", Value("-"), Value("_"))))
        .filter(key=key)
        .exclude(name=name)
        .values_list("name", flat=True)
        .first()
    )
    return clash


def session_name_check(name: str) -> str:
    """A new session's name, checked once: valid, and no other session's store is the one it maps to."""
    try:
        validate_session_name(name)
    except StoreError as exc:
        raise SessionStoreError(str(exc)) from None
    clash = session_name_clash(name)
    if clash is not None:
        raise SessionStoreError(session_name_taken_message(name, clash))
    return name


def session_get_or_create(*, name: str) -> WhatsAppSession:
    """The session called ``name``, created when missing; a name whose store another session has is
    refused with :class:`SessionStoreError` naming it (so is an old session on an older one's store)."""
    existing = WhatsAppSession.objects.filter(name=name, store_key__isnull=False).first()
    if existing is not None:
        return existing
    if not WhatsAppSession.objects.filter(name=name).exists():
        session_name_check(name)
    try:
        session, _ = WhatsAppSession.objects.named(name)  # the unique store key settles a race
    except SessionNameError as exc:
        raise SessionStoreError(str(exc)) from None
    return session


def session_record_store(session: WhatsAppSession, store: LiveStore, **more: Any) -> None:
    fields = {"store_backend": store.backend, "store_location": store.location, **more}
    if isinstance(store, SqliteStore):
        fields["store_host"] = this_host()
    WhatsAppSession.objects.filter(pk=session.pk).update(**fields, updated_at=timezone.now())
    for key, value in fields.items():
        setattr(session, key, value)


def session_mark_status(*, session_name: str, status: str, reason: str = "") -> WhatsAppSession:
    """Record a session's status (``logged_out`` stops automatic restores until it pairs again)."""
    if status not in WhatsAppSession.Status.values:
        raise SessionStoreError(f"Unknown session status {status!r}.")
    session = session_get_or_create(name=session_name)
    session.status = status
    session.status_reason = reason[:200]
    session.save(update_fields=["status", "status_reason", "updated_at"])
    logger.info("session status", extra={"session": session_name, "status": status, "reason": reason})
    return session


def session_mark_connected(*, session_name: str) -> None:
    """Record that the session is connected now (the admin's "last connected at"); no row, no write."""
    WhatsAppSession.objects.filter(name=session_name).update(last_connected_at=timezone.now())


def session_mark_paired(*, session_name: str, jid: str, push_name: str = "") -> WhatsAppSession:
    """A pairing succeeded: record it, and put the new credentials into Heroku's config vars when
    ``HEROKU_API_KEY`` and ``HEROKU_APP_NAME`` are set (a failure there is logged, never raised)."""
    session = session_get_or_create(name=session_name)
    now = timezone.now()
    session.jid, session.push_name = jid, push_name[:128]
    session.status, session.status_reason = WhatsAppSession.Status.PAIRED, ""
    session.paired_at = session.last_connected_at = now
    session.save(
        update_fields=["jid", "push_name", "status", "status_reason", "paired_at", "last_connected_at", "updated_at"]
    )
    session_record_store(session, store_for(session_name))
    logger.info("session paired", extra={"session": session_name, "jid": jid})
    session_credentials_sync(session_name=session_name, paired=True)
    session.refresh_from_db()
    return session
