"""The child's liveness duties: ask WhatsApp a question while connected, restart a deaf connection,
and keep the primary phone's age with its unlink warnings.

A mixin of :class:`bot.child.runtime.BotRuntime`. The transport hands answers and signs of the
phone to ``_on_liveness`` on its own thread; they go through the inbox like messages (a dispatcher
calls ``_liveness_seen``), so an answer proves the whole path. The heartbeat thread calls
``_liveness_tick``, the database writer thread ``_phone_tick``.
"""

from __future__ import annotations

import logging
import queue
import time
from datetime import UTC, datetime

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from bot.child.liveness import LivenessConfig, LivenessWatch
from bot.db_buffer import outage_watch
from bot.heartbeat import ChildExit
from bot.models import ConnectionState as State
from bot.runtime_settings import runtime_value
from bot.transport.base import LivenessPong, PrimarySeen, Reply

logger = logging.getLogger("bot.child.runtime")

PHONE_WRITE_EVERY = 60.0  # seconds between writes of the phone's last sign (one row, many signs)
PHONE_CHECK_EVERY = 600.0  # seconds between checks of the warning thresholds


def liveness_config(*, restarts: bool = True) -> LivenessConfig:
    """From the settings: LIVENESS_INTERVAL (minutes), LIVENESS_TIMEOUT (seconds), LIVENESS_FAILURES."""
    return LivenessConfig(
        interval=float(getattr(settings, "LIVENESS_INTERVAL", 15)) * 60.0,
        timeout=float(getattr(settings, "LIVENESS_TIMEOUT", 30)),
        failures=int(getattr(settings, "LIVENESS_FAILURES", 3)),
        restarts=restarts,
    )


class Listening:
    """Needs ``liveness`` (a LivenessWatch or None), ``transport``, ``machine``, ``inbox``, ``session_name``."""

    liveness: LivenessWatch | None

    def _liveness_setup(self, watch: LivenessWatch | None) -> None:
        self.liveness = watch if getattr(self.transport, "supports_liveness", False) else None
        self._phone_seen: tuple[datetime, str] | None = None  # newest sign not yet written
        self._phone_written_at = -PHONE_WRITE_EVERY
        self._phone_checked_at = -PHONE_CHECK_EVERY

    # -- the transport's thread: never block ----------------------------------------------------
    def _on_liveness(self, item: LivenessPong | PrimarySeen) -> None:
        if not self._accepting:
            return
        try:
            self.inbox.put_nowait(item)
        except queue.Full:
            self._liveness_seen(item)  # a full inbox is traffic flowing: take the answer as it is

    # -- a dispatcher thread --------------------------------------------------------------------
    def _liveness_seen(self, item: object) -> None:
        if isinstance(item, LivenessPong):
            if self.liveness is not None and self.liveness.pong(item.token) and item.primary_linked:
                self._primary_seen(item.at, "probe")
        elif isinstance(item, PrimarySeen):
            self._primary_seen(item.at, item.how)

    def _primary_seen(self, at: datetime, how: str) -> None:
        if self._phone_seen is None or self._phone_seen[0] < at:
            self._phone_seen = (at, how)

    def _liveness_state(self, state: State, previous: State | None) -> None:
        """A recorded transition: questions only while connected."""
        if self.liveness is None:
            return
        if state == State.CONNECTED:
            self.liveness.connected()
        elif previous == State.CONNECTED:
            self.liveness.disconnected()

    # -- the heartbeat thread -------------------------------------------------------------------
    def _liveness_tick(self) -> None:
        if self.liveness is None or self.machine.state != State.CONNECTED or self._stop.is_set():
            return
        if outage_watch().down:
            self.liveness.hold()  # answers wait behind the database in the dispatchers: not deafness
            return
        step = self.liveness.tick()
        if step is None:
            return
        if step.action == "probe":
            try:
                self.transport.probe(step.token)
            except Exception:
                logger.exception("liveness probe failed to start", extra={"session": self.session_name})
            return
        self._deaf(step.failures)

    def _deaf(self, failures: int) -> None:
        config = self.liveness.config
        silent = round(failures * config.timeout)  # each unanswered question waited one timeout
        if config.restarts:
            logger.error(
                "connected but deaf: liveness questions unanswered; restarting the child",
                extra={"session": self.session_name, "reason": "deaf", "unanswered": failures, "seconds": silent},
            )
            self._tell_owners(
                gettext_lazy("WhatsApp stopped answering this bot while it looked connected; it reconnected.")
            )
            self.request_stop(exit_code=ChildExit.DEAF, reason="deaf")
            return
        if self.liveness.deaf_reported:
            return
        self.liveness.deaf_reported = True
        logger.error(
            "still deaf after the allowed restarts; keeping the connection and asking again",
            extra={"session": self.session_name, "reason": "deaf_persistent", "unanswered": failures},
        )
        self._tell_owners(
            gettext_lazy(
                "WhatsApp has not answered this bot for a while although it looks connected, and "
                "restarting did not help. Check the phone and the bot's network; the dashboard shows the state."
            )
        )
        self._alert_webhook("deaf_persistent")

    def _tell_owners(self, text: object) -> None:
        """``text`` (a lazy text, or a callable making one) in the session's BOT_LANG, to every owner."""
        owners = list(runtime_value("OWNER_NUMBERS", session=self.session_name) or [])  # .setvar included
        with translation.override(runtime_value("BOT_LANG", session=self.session_name)):
            text = text() if callable(text) else str(text)
        if owners:  # the outbox keeps them for the next working connection
            self._queue_replies([Reply(kind="text", chat=f"{d}@s.whatsapp.net", text=text) for d in owners], answers="")

    def _alert_webhook(self, reason: str) -> None:
        if self.webhooks is not None:
            state = self.machine.state.value
            self.webhooks.notify(
                session_name=self.session_name, from_state=state, to_state=state, reason=reason, at=datetime.now(UTC)
            )

    # -- the database writer thread -------------------------------------------------------------
    def _phone_tick(self) -> None:
        """Write the phone's newest sign (once a minute at most) and send a due unlink warning."""
        from bot.phone_watch import phone_seen_record, phone_warning_due, phone_warning_reason, phone_warning_text

        if self.liveness is None:
            return
        now = time.monotonic()
        seen = self._phone_seen
        if seen is not None and now - self._phone_written_at >= PHONE_WRITE_EVERY:
            phone_seen_record(session_name=self.session_name, at=seen[0], how=seen[1])
            self._phone_written_at = now
            if self._phone_seen is seen:
                self._phone_seen = None
        if now - self._phone_checked_at < PHONE_CHECK_EVERY or self.machine.state != State.CONNECTED:
            return
        self._phone_checked_at = now
        days = phone_warning_due(session_name=self.session_name)
        if days is None:
            return
        logger.warning(
            "primary phone not seen; WhatsApp unlinks the bot at about 14 days",
            extra={"session": self.session_name, "days": days, "reason": phone_warning_reason(days)},
        )
        self._tell_owners(lambda: phone_warning_text(days))
        self._alert_webhook(phone_warning_reason(days))
