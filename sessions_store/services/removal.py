"""Removing a session from the sessions app: its backups, lease, pairing codes and live store.

Called by ``remove_session`` and the admin (through ``bot.session_removal``, which also removes the
bot's own rows). A session whose lease is live belongs to a running worker: removing it under the
worker would leave a bot writing to a store that is gone, so that needs ``force``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sessions_store.models import PairingCode, SessionBackup, SessionLease, WhatsAppSession
from sessions_store.store import MISSING, store_for, store_key, validate_session_name

from .sessions import SessionStoreError

logger = logging.getLogger("sessions_store.services")


class SessionLeaseLive(SessionStoreError):
    """The session is held by a running worker; removing it needs ``force``."""


@dataclass(frozen=True)
class SessionRemoval:
    """What was removed, counted (0 where there was nothing)."""

    name: str
    session: int
    backups: int
    pairing_codes: int
    lease: int
    live_store: str  # where the store was, "" when there was none
    store_kept_for: str = ""  # the session whose store it shared (left alone), "" when it had its own


def session_remove(*, name: str, force: bool = False, now: datetime | None = None) -> SessionRemoval:
    """Delete the session row and everything that hangs off it; the live store is wiped last.

    Raises :class:`SessionLeaseLive` when a worker holds the lease right now and ``force`` is not set.
    A name with no row removes nothing and says so (counts of 0): the bot's rows may still need going.
    """
    now = now or timezone.now()
    session = WhatsAppSession.objects.filter(name=name).first()
    if session is None:
        return SessionRemoval(name=name, session=0, backups=0, pairing_codes=0, lease=0, live_store="")
    lease = SessionLease.objects.filter(session=session).exclude(holder="").filter(expires_at__gt=now).first()
    if lease is not None and not force:
        raise SessionLeaseLive(
            f"Session {name!r} is held by {lease.holder} until {lease.expires_at:%H:%M:%S} UTC: stop that worker "
            "first, or remove it anyway with --force (its bot then runs on without a store)."
        )
    store = store_for(name)
    owner = _store_owner(session, store)
    had_store = owner is None and store.health().status != MISSING
    with transaction.atomic():
        backups = SessionBackup.objects.filter(session=session).count()
        codes = PairingCode.objects.filter(session=session).count()
        leases = SessionLease.objects.filter(session=session).count()
        session.delete()  # backups, lease and codes go with it (CASCADE)
    # After the rows: a crash between the two leaves a store nobody points to, never rows pointing nowhere.
    location = store.location if had_store else ""
    if had_store:
        store.wipe()
    removal = SessionRemoval(
        name=name,
        session=1,
        backups=backups,
        pairing_codes=codes,
        lease=leases,
        live_store=location,
        store_kept_for=owner or "",
    )
    logger.info(
        "session removed",
        extra={
            "session": name,
            "backups": backups,
            "pairing_codes": codes,
            "lease": leases,
            "live_store": location or "-",
            "store_kept_for": owner or "-",
            "forced": lease is not None,
        },
    )
    return removal


def _store_owner(session: WhatsAppSession, store) -> str | None:
    """The older session whose live store this one shares (an old row without a store key, from before
    keys), or None when the store is its own: removing it must not take the other's device with it.
    A SQLite file of another spelling is another store, unless the disk folds case."""
    if session.store_key is not None:
        return None
    owner = (
        WhatsAppSession.objects.filter(store_key=store_key(session.name))
        .exclude(pk=session.pk)
        .values_list("name", flat=True)
        .first()
    )
    if owner is None:
        return None
    theirs = store_for(owner)
    if store.location == theirs.location:
        return owner
    paths = [getattr(s, "path", None) for s in (store, theirs)]
    if all(p is not None and p.exists() for p in paths) and os.path.samefile(*paths):
        return owner
    return None


def session_mark_trial(*, name: str) -> bool:
    """Mark a console trial's session so health, ``--all`` and backups leave it alone; returns whether
    it is a trial.

    Only a session the trial creates is a trial: an existing one (a real session waiting to be
    paired, say) is never marked, or a console run under its name would hide it from ``--all``.
    """
    validate_session_name(name)
    session, created = WhatsAppSession.objects.named(name, trial=True)
    return created or session.trial
