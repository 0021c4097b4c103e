"""Removing a session and everything it owns: the sessions app's rows and live store, then every
row of the bot app kept under its name (status, events, stats, control requests, settings, bans).

Imported by the ``remove_session`` command and the admin action (web process); nothing here runs in
the bot child. Every model of the bot app with a ``session_name`` field is included, so a table
added later is removed too without anyone remembering to list it here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction

from sessions_store.services import SessionRemoval, session_remove

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionRemoved:
    """The counts of one removal: the sessions app's (``store``) and the bot's, per table."""

    name: str
    store: SessionRemoval
    bot_rows: dict[str, int] = field(default_factory=dict)

    @property
    def nothing(self) -> bool:
        return not self.store.session and not self.store.live_store and not any(self.bot_rows.values())

    def summary(self) -> str:
        """One line for the operator: what went, with counts; tables with nothing are left out."""
        if self.nothing:
            return f"Nothing to remove: no session, store or bot rows are named {self.name!r}."
        parts = [
            f"session row {self.store.session}",
            f"backups {self.store.backups}",
            f"pairing codes {self.store.pairing_codes}",
            f"lease {self.store.lease}",
        ]
        if self.store.store_kept_for:
            parts.append(f"live store kept (it is session {self.store.store_kept_for!r}'s)")
        else:
            parts.append(f"live store {self.store.live_store}" if self.store.live_store else "live store none")
        parts += [f"{label} {count}" for label, count in sorted(self.bot_rows.items()) if count]
        return f"Removed session {self.name!r}: " + ", ".join(parts) + "."


def _bot_models() -> list[type]:
    return [
        model
        for model in apps.get_app_config("bot").get_models()
        if any(f.name == "session_name" for f in model._meta.get_fields())
    ]


def session_remove_everything(*, name: str, force: bool = False) -> SessionRemoved:
    """Remove ``name`` everywhere; raises ``SessionLeaseLive`` (nothing removed) while a worker holds it."""
    store = session_remove(name=name, force=force)  # refuses first, before any bot row goes
    counts: dict[str, int] = {}
    with transaction.atomic():
        for model in _bot_models():
            deleted, _ = model.objects.filter(session_name=name).delete()
            counts[str(model._meta.verbose_name_plural)] = deleted
    removed = SessionRemoved(name=name, store=store, bot_rows=counts)
    logger.info(
        "session removed everywhere",
        extra={"session": name, "bot_rows": sum(counts.values()), "forced": force},
    )
    return removed
