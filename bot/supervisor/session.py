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
from bot.db_buffer import is_outage
from bot.links import pairing_page_url
from bot.models import BotStatus
from bot.models import ConnectionState as State
from bot.session_origin import session_origin_record
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

    def _state_now(self) -> str:
        """The session's state as the status row says; while the database is away, the last one we knew."""
        known = getattr(self, "_state_known", "") or State.STARTING
        if self.watch.down:
            return known
        try:
            status = BotStatus.objects.filter(session_name=self.session_name).values_list("state", flat=True)
            known = status.first() or State.STARTING
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.watch.failed(exc)
        return known

    def record(self, to_state: State, reason: str, detail: dict[str, Any] | None = None) -> None:
        try:
            previous = self._state_now()
            if previous == to_state:
                return
            self._state_known = str(to_state)
            events.transition_record(  # kept in order through an outage (bot.events buffers it)
                session_name=self.session_name,
                from_state=previous,
                to_state=to_state,
                reason=reason,
                detail=detail,
                webhooks=self.webhooks,
                fencing=self.ownership.fencing,  # a holder that lost the lease leaves the status to the new one
            )
        except Exception:
            logger.exception("recording a supervisor event failed", extra={"session": self.session_name})

    def alert(self, reason: str, detail: str) -> None:
        """An operator alert that is not a state change (a full disk): the webhook and one log line."""
        logger.error("alert", extra={"session": self.session_name, "reason": reason, "detail": detail})
        if self.webhooks is not None:
            state = self._state_now()
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
            if is_outage(exc):
                self.watch.failed(exc)
                logger.warning(
                    "restore chain skipped: database unreachable; starting with the live store",
                    extra={"session": self.session_name},
                )
            else:
                logger.exception(
                    "restore chain failed; starting with the live store", extra={"session": self.session_name}
                )
                session_origin_record(
                    session_name=self.session_name, outcome=None, error=f"{type(exc).__name__}: {exc}"
                )
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
        stale = getattr(outcome, "stale_store", None)
        if stale:
            # Not a state change (still restoring), but operators must see that an old store was replaced.
            try:
                events.connection_event_record(
                    session_name=self.session_name,
                    from_state=State.RESTORING,
                    to_state=State.RESTORING,
                    reason="stale_store_replaced",
                    detail=stale,
                )
            except Exception:
                logger.exception("recording a supervisor event failed", extra={"session": self.session_name})
        session_origin_record(session_name=self.session_name, outcome=outcome)
        self.restore_watch_arm(outcome)  # a restored store that cannot read what comes is stale
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

    def logout_confirm_begin(self) -> None:
        """A logout right after a 515 is not final yet. whatsmeow deleted the device row with it, so the
        restore chain puts the newest verified backup back (the backup itself is left as it is until the
        logout is certain) and the next child, started at once, reconnects with ``--confirm-logout``: a
        second logout is final there, a connection proves the first one false."""
        logger.warning(
            "confirming a logout seen right after a restart-required stream error: restoring and reconnecting once",
            extra={"session": self.session_name},
        )
        self.restore()
        self.confirming_logout = True
        self._next_start = self.clock()

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
