"""The child's dispatcher threads: messages from the inbox to the router, replies into the outbox.

A mixin of :class:`bot.child.runtime.BotRuntime`. A handler's replies are written to the outbox
(``bot.dispatch.outbox``) together with the message id they answer, and the sender is woken: the
handler never waits for pacing. A failure in one message is counted and logged; the loop never
dies of it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import close_old_connections, connection

from bot.child.outage_notice import outage_last, outage_message
from bot.dispatch.outbox import outbox_enqueue
from bot.transport.base import GroupChange, IncomingMessage, Reply

logger = logging.getLogger("bot.child.runtime")

STOP = object()  # put on the inbox once per dispatcher thread to end it


class Dispatching:
    """Needs ``inbox``, ``router``, ``router_counts``, ``sender``, ``stats``, ``session_name`` and the in-flight counter."""

    def _announce_outage(self) -> None:
        """Back after an outage longer than OUTAGE_ALERT_MINUTES: one message to every owner (bot.child.outage_notice)."""
        owners = list(getattr(settings, "OWNER_NUMBERS", []) or [])
        if not owners:
            return
        outage = outage_last(session_name=self.session_name)
        text = outage and outage_message(down_since=outage.down_since, back_at=outage.back_at, reason=outage.reason)
        if not text:
            return
        replies = [Reply(kind="text", chat=f"{digits}@s.whatsapp.net", text=text) for digits in owners]
        self._queue_replies(replies, answers="")
        logger.info("outage message queued for the owners", extra={"session": self.session_name, "owners": len(owners)})

    def _dispatch_loop(self) -> None:
        try:
            while True:
                item = self.inbox.get()
                try:
                    if item is STOP:
                        return
                    with self._in_flight_lock:
                        self._in_flight += 1
                    self._dispatch(item)
                finally:
                    if item is not STOP:
                        with self._in_flight_lock:
                            self._in_flight -= 1
                    self.inbox.task_done()
        finally:
            connection.close()

    def _dispatch(self, item: object) -> None:
        close_old_connections()
        try:
            if isinstance(item, IncomingMessage):
                if not self.router_counts:
                    self.stats.incoming()
                result = self.router.handle(item)
            elif isinstance(item, GroupChange):
                handler = getattr(self.router, "handle_group_change", None)
                if handler is None:
                    return
                result = handler(item)
            else:
                return
        except Exception:
            self.stats.error()
            logger.exception("handling a message failed", extra={"session": self.session_name})
            return
        if not self.router_counts:
            if getattr(result, "command", None):
                self.stats.command(result.command)
            if getattr(result, "error", False):
                self.stats.error()
        replies = list(getattr(result, "replies", None) or [])
        # A message that ran a command or got an answer is recorded as handled with its replies, so a
        # redelivery after a restart is not handled again.
        handled = isinstance(item, IncomingMessage) and (replies or getattr(result, "command", None))
        if replies or handled:
            self._queue_replies(replies, answers=item.id if handled else "")

    def _queue_replies(self, replies: list[Reply], *, answers: str) -> None:
        try:
            outbox_enqueue(session_name=self.session_name, replies=replies, answers=answers)
        except Exception:
            self.stats.error()
            logger.exception(
                "queueing replies failed",
                extra={"session": self.session_name, "replies": len(replies), "msg_id": answers},
            )
            return
        if replies:
            self.sender.wake()
