"""The supervisor's calls into the sessions app: restore chain, backups, and what it records.

A mixin of :class:`bot.supervisor.loop.Supervisor`. A network outage never reaches the restore
chain, so nothing paired is lost; a full disk stops the worker so the host gives it a fresh one.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.utils import timezone

from blacksky_site.tempfiles import is_disk_full
from bot import events
from bot.links import pairing_page_url
from bot.models import BotStatus
from bot.models import ConnectionState as State
from sessions_store.services import backup_create, session_restore_chain

logger = logging.getLogger(__name__)


def temp_sweep_at_start() -> None:
    """A crashed predecessor's temp files go before anything new is written (hourly after that)."""
    from blacksky_site.tempfiles import temp_sweep

    try:
        temp_sweep()
    except OSError:
        logger.exception("temp sweep failed")


class SessionCalls:
    """Restore, back up, record transitions and alerts for one session."""

    session_name: str

    def record(self, to_state: State, reason: str, detail: dict[str, Any] | None = None) -> None:
        try:
            status = BotStatus.objects.filter(session_name=self.session_name).values_list("state", flat=True)
            previous = status.first() or State.STARTING
            if previous == to_state:
                return
            events.transition_record(
                session_name=self.session_name,
                from_state=previous,
                to_state=to_state,
                reason=reason,
                detail=detail,
                webhooks=self.webhooks,
            )
        except Exception:
            logger.exception("recording a supervisor event failed", extra={"session": self.session_name})

    def alert(self, reason: str, detail: str) -> None:
        """An operator alert that is not a state change (a full disk): the webhook and one log line."""
        logger.error("alert", extra={"session": self.session_name, "reason": reason, "detail": detail})
        if self.webhooks is not None:
            state = BotStatus.objects.filter(session_name=self.session_name).values_list("state", flat=True).first()
            state = state or State.STARTING
            self.webhooks.notify(
                session_name=self.session_name, from_state=state, to_state=state, reason=reason, at=timezone.now()
            )

    def restore(self, *, force: bool = False, backup_id: int | None = None) -> Any:
        """The restore chain of the sessions app; a network outage never reaches here, so nothing paired is lost."""
        self.record(State.RESTORING, "restore_chain")
        try:
            outcome = session_restore_chain(session_name=self.session_name, force=force, backup_id=backup_id)
        except Exception as exc:
            if is_disk_full(exc):
                # Pairing anew on a disk that cannot hold the restored store would orphan every backup:
                # alert and stop, so the host restarts the worker (on Heroku, with a fresh disk).
                self.alert("disk_full", str(exc))
                self.exit_code = 1
                self._stop.set()
                return None
            logger.exception("restore chain failed; starting with the live store", extra={"session": self.session_name})
            return None
        logger.info(
            "session restore",
            extra={
                "session": self.session_name,
                "source": getattr(outcome, "source", ""),
                "needs_pairing": getattr(outcome, "needs_pairing", None),
                "detail": getattr(outcome, "detail", ""),
            },
        )
        if getattr(outcome, "needs_pairing", False):
            print(
                # Only a promise the bot can keep: the QR comes once WhatsApp answers (offline, the
                # log says "cannot reach WhatsApp" instead).
                f"No paired WhatsApp session '{self.session_name}' yet: once the bot reaches WhatsApp it prints "
                f"a QR code below, and the pairing page {pairing_page_url()} (staff login) shows it too.",
                file=sys.stderr if self.transport == "console" else sys.stdout,
                flush=True,
            )
        return outcome

    def backup(self, reason: str) -> str:
        try:
            backup = backup_create(session_name=self.session_name, reason=reason)
        except Exception as exc:
            if is_disk_full(exc):
                self.alert("disk_full", str(exc))
            raise
        if backup is None:
            return "nothing to back up"
        logger.info("session backed up", extra={"session": self.session_name, "reason": reason, "backup": backup.pk})
        return f"backup {backup.pk} written"
