"""The child's dispatcher threads: messages from the inbox to the router, replies to the outbound.

A mixin of :class:`bot.child.runtime.BotRuntime`. A failure in one message is counted and
logged; the loop never dies of it.
"""

from __future__ import annotations

import logging
import queue

from django.conf import settings
from django.db import close_old_connections, connection

from bot.child.outage_notice import outage_last, outage_message
from bot.transport.base import GroupChange, IncomingMessage, Reply

logger = logging.getLogger("bot.child.runtime")

STOP = object()  # put on the inbox once per dispatcher thread to end it


class Dispatching:
    """Needs ``inbox``, ``router``, ``router_counts``, ``send``, ``stats``, ``session_name`` and the in-flight counter."""

    def _announce_outage(self) -> None:
        """Back after an outage longer than OUTAGE_ALERT_MINUTES: one message to every owner (bot.child.outage_notice)."""
        owners = list(getattr(settings, "OWNER_NUMBERS", []) or [])
        if not owners:
            return
        outage = outage_last(session_name=self.session_name)
        text = outage and outage_message(down_since=outage.down_since, back_at=outage.back_at, reason=outage.reason)
        if not text:
            return
        for digits in owners:
            try:
                self.inbox.put_nowait(Reply(kind="text", chat=f"{digits}@s.whatsapp.net", text=text))
            except queue.Full:
                logger.warning("inbox full; outage message not sent", extra={"session": self.session_name})
                return
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
            elif isinstance(item, Reply):  # a message of our own (owners' outage notice)
                if self.send(item) is not None:
                    self.stats.outgoing()
                return
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
        for reply in getattr(result, "replies", None) or []:
            try:
                sent = self.send(reply)
            except Exception:
                self.stats.error()
                logger.exception("sending a reply failed", extra={"session": self.session_name, "kind": reply.kind})
                continue
            if sent is not None:
                self.stats.outgoing()
