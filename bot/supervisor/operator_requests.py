"""The operators' requests from the control table (admin, ``/pair/``), carried out by the supervisor.

A mixin of :class:`bot.supervisor.loop.Supervisor`: each action name maps to a method; the outcome is
stored on the row by ``bot.control``, never raised into the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.control import ControlError, control_run_pending, pair_phone_parse
from bot.db_buffer import is_outage
from bot.models import ControlCommand

logger = logging.getLogger(__name__)


class OperatorRequests:
    """backup, verify, restore, reconnect, restart, refresh_qr, pair_phone."""

    session_name: str
    pair_phone: str

    def control_actions(self) -> dict[str, Callable[[ControlCommand], str]]:
        return {
            "backup": lambda command: self.backup("manual"),
            "verify": lambda command: self._verify(),
            "restore": self._control_restore,
            "reconnect": lambda command: self.restart_child("reconnect_requested"),
            "restart": lambda command: self.restart_child("restart_requested"),
            "refresh_qr": self._control_refresh_qr,
            "pair_phone": self._control_pair_phone,
        }

    def _control_refresh_qr(self, command: ControlCommand) -> str:
        # Asking for a QR ends a phone pairing: the fresh child shows a QR code, not a phone code.
        self.pair_phone = ""
        return self.restart_child("refresh_qr")

    def _control_pair_phone(self, command: ControlCommand) -> str:
        """A fresh child with ``--pair-phone``: WhatsApp sends it the 8-character code for that number."""
        from sessions_store.models import WhatsAppSession

        phone = pair_phone_parse(str((command.args or {}).get("phone", "")))
        status = WhatsAppSession.objects.filter(name=self.session_name).values_list("status", flat=True).first()
        if status == WhatsAppSession.Status.PAIRED:
            # WhatsApp sends a phone code only to a device that is not linked: a restart would ask for nothing.
            raise ControlError("the session is paired already; nothing to link (log it out first to pair anew)")
        self.pair_phone = phone
        logger.info("pairing by phone number asked", extra={"session": self.session_name, "phone_tail": phone[-4:]})
        return f"{self.restart_child('pair_phone')}; asking WhatsApp for a code for the number ending {phone[-4:]}"

    def _verify(self) -> str:
        from sessions_store.services import backups_verify

        return str(backups_verify(session_name=self.session_name))

    def _control_restore(self, command: ControlCommand) -> str:
        backup_id = (command.args or {}).get("backup_id")
        child = self.child
        if child is not None:
            child.planned = True
            child.kill_reason = "restore_requested"
            self.terminate_child(grace=self.child_stop_grace)
        outcome = self.restore(force=True, backup_id=backup_id)
        self.idle_reason = ""
        self._next_start = self.clock()
        return f"restored from {getattr(outcome, 'source', 'nothing')}: {getattr(outcome, 'detail', '')}".strip()

    def poll_control(self) -> int:
        try:
            return control_run_pending(session_name=self.session_name, actions=self.control_actions())
        except Exception as exc:
            if is_outage(exc):
                self.watch.failed(exc)  # one warning per outage, from the watch
            else:
                logger.exception("polling the control table failed", extra={"session": self.session_name})
            return 0
