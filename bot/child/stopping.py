"""The bot child's shutdown: stop intake, finish handlers, send what the deadline allows, report what is left.

A mixin of :class:`bot.child.runtime.BotRuntime` (imported by it only). Replies are rows in the
outbox, so a deadline never loses one: what was not sent stays ``queued`` for the next owner of the
session, and the "bot child stopped" line says how many, read from the table.
"""

from __future__ import annotations

import logging
import queue
import time

from bot import events
from bot.child.dispatching import STOP
from bot.db_buffer import is_outage, outage_watch
from bot.heartbeat import ChildExit
from bot.models import ConnectionState as State

logger = logging.getLogger("bot.child.runtime")


class Stopping:
    """Needs the runtime's inbox, dispatchers, sender, machine, stats, beats and transport stop."""

    def _shutdown(self) -> None:
        """Stop taking messages, let handlers finish and the sender send (both <= drain_timeout),
        stop the transport, flush, and log what the outbox holds."""
        started = time.monotonic()
        self._accepting = False
        deadline = started + self.drain_timeout
        while time.monotonic() < deadline:
            with self._in_flight_lock:
                busy = self._in_flight
            if self.inbox.unfinished_tasks == 0 and busy == 0:
                break
            time.sleep(0.02)
        left = self.inbox.unfinished_tasks
        if left:
            logger.warning(
                "shutdown: handlers still running after the drain timeout",
                extra={"session": self.session_name, "left": left},
            )
        # End of console input waits for its outbox (every item sends or expires); a signal stops at the deadline.
        send_deadline = None if getattr(self, "stop_reason", "") == "input_finished" else deadline
        outbox_report: dict[str, int] = {}
        try:
            self.sender.drain(deadline=send_deadline)
            outbox_report = self.sender.report()
        except Exception as exc:
            if is_outage(exc):  # the rows stay queued for the next owner; no trace for an outage
                outage_watch().failed(exc)
                logger.warning("outbox drain stopped: database unreachable", extra={"session": self.session_name})
            else:
                logger.exception("outbox drain failed", extra={"session": self.session_name})
        self._stop_transport()
        for _ in self._dispatchers:
            try:
                self.inbox.put_nowait(STOP)
            except queue.Full:
                break
        for thread in self._dispatchers:
            thread.join(max(0.0, deadline - time.monotonic()) or 0.1)
        if self._connector is not None:
            self._connector.join(1.0)
        if self._open_attempt is not None:
            try:
                events.reconnect_event_close(event=self._open_attempt, outcome="gave_up")
            except Exception:
                logger.exception("closing the open reconnect attempt failed")
            self._open_attempt = None
        try:
            if self.exit_code != ChildExit.TERMINAL:
                self._record(self.machine.begin(State.STOPPED, reason=getattr(self, "stop_reason", "stop")))
            self.stats.flush()
            activity = getattr(self.router, "activity", None)  # the members' counts of the last seconds
            if activity is not None:
                activity.flush()
        except Exception:
            logger.exception("final stats flush failed", extra={"session": self.session_name})
        if self.beats is not None:
            self.beats.send(self.beat())
        logger.info(
            "bot child stopped",
            extra={
                "session": self.session_name,
                "exit_code": self.exit_code,
                "reason": getattr(self, "stop_reason", ""),
                "seconds": round(time.monotonic() - started, 3),
                "dropped": self.dropped,  # incoming messages refused once intake stopped (never replies)
                **outbox_report,
            },
        )
