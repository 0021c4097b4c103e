"""Store generations: telling the newest copy of a session's store from an old one, for the restore chain and pairing.

Imported by the supervisor (through the restore chain), the bot child (pairing) and the commands.
Where each machine keeps its own SQLite store, a worker that comes back with an old but healthy
store (the session ran elsewhere meanwhile) would bring old Signal keys back to life. So:

- ``WhatsAppSession.store_generation`` counts up. Every start of a run (the restore chain keeping
  the live store), every restore (a new copy is written) and every pairing (a new device) takes
  the next number and records it in the live store (``blacksky_store_generation``, beside
  whatsmeow's tables).
- Every backup records the generation of the store it was taken from, in its row and inside its
  encrypted archive.
- A live store whose generation is lower than the newest verified backup's is older than a run
  that took a backup after it started: it is moved aside and that backup restored.

Numbers follow the order in which runs began, so the copy that ran last and left a backup always
outranks the others. A store written before generations existed has none and counts as 0: it is
kept while every backup is 0 too (nothing newer is known), and replaced once a backup of a stamped
store exists (some run since the upgrade is newer than it).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F

from sessions_store.models import WhatsAppSession
from sessions_store.store import LiveStore, StoreError

logger = logging.getLogger("sessions_store.services")

KEEP, REPLACE_STALE, RESTORE, FORCE = "keep", "replace_stale", "restore", "force"


def store_decision(*, healthy: bool, live_generation: int, newest_backup_generation: int | None, force: bool) -> str:
    """What the restore chain does with the live store (pure; the table is in its tests).

    ``newest_backup_generation`` is the highest generation among verified backups (None: none).
    """
    if not healthy:
        return RESTORE
    if force:
        return FORCE
    if newest_backup_generation is not None and live_generation < newest_backup_generation:
        return REPLACE_STALE
    return KEEP  # the newest copy known, or the only one: never overwritten


def session_generation_next(*, session: WhatsAppSession) -> int:
    """The next generation of ``session`` (one UPDATE; the row lock keeps two callers apart)."""
    with transaction.atomic():
        WhatsAppSession.objects.filter(pk=session.pk).update(store_generation=F("store_generation") + 1)
        generation = WhatsAppSession.objects.filter(pk=session.pk).values_list("store_generation", flat=True).get()
    session.store_generation = generation
    return generation


def store_generation_begin(*, session: WhatsAppSession, store: LiveStore, why: str) -> int:
    """Give the live store the next generation (a run starts, or a new device was paired).

    Returns the generation, or 0 when it could not be recorded (logged; the store is still used).
    """
    generation = session_generation_next(session=session)
    try:
        store.generation_write(generation)
    except StoreError as exc:
        logger.error(
            "store generation not recorded",
            extra={"session": session.name, "generation": generation, "reason": str(exc)},
        )
        return 0
    logger.info("store generation", extra={"session": session.name, "generation": generation, "why": why})
    return generation
