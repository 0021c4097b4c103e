"""The child's dispatcher threads: messages from the inbox to the router, replies into the outbox.

A mixin of :class:`bot.child.runtime.BotRuntime`. A handler's replies are written to the outbox
(``bot.outbox``) together with the message id they answer, and the sender is woken: the
handler never waits for pacing. A failure in one message is counted and logged; the loop never
dies of it.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable

from django.db import close_old_connections, connection
from django.utils import translation

from bot.child.outage_notice import outage_last, outage_message
from bot.child.receipts import receipts_send
from bot.db_buffer import is_outage, outage_watch
from bot.outbox import outbox_enqueue, outbox_enqueue_many
from bot.runtime_settings import runtime_value
from bot.transport.base import (
    GroupChange,
    IncomingCall,
    IncomingMessage,
    LivenessPong,
    MessageEdited,
    MessageRevoked,
    PrimarySeen,
    Reply,
)

logger = logging.getLogger("bot.child.runtime")

STOP = object()  # put on the inbox once per dispatcher thread to end it
DISPATCH_BATCH = 50  # items one dispatcher handles before their replies are committed together


class Dispatching:
    """Needs ``inbox``, ``router``, ``router_counts``, ``sender``, ``stats``, ``session_name``, ``transport``
    and the in-flight counter."""

    def _announce_outage(self) -> None:
        """Back after an outage longer than OUTAGE_ALERT_MINUTES: one message to every owner (bot.child.outage_notice)."""
        owners = list(runtime_value("OWNER_NUMBERS", session=self.session_name) or [])  # .setvar included
        if not owners:
            return
        outage = outage_last(session_name=self.session_name)
        with translation.override(runtime_value("BOT_LANG", session=self.session_name)):
            bot_name = runtime_value("BOT_NAME", session=self.session_name)
            text = outage and outage_message(
                down_since=outage.down_since, back_at=outage.back_at, reason=outage.reason, bot_name=bot_name
            )
        if not text:
            return
        replies = [Reply(kind="text", chat=f"{digits}@s.whatsapp.net", text=text) for digits in owners]
        self._queue_replies(replies, answers="")
        logger.info("outage message queued for the owners", extra={"session": self.session_name, "owners": len(owners)})

    def _dispatch_loop(self) -> None:
        try:
            while True:
                batch = self._take_batch()
                work = [item for item in batch if item is not STOP]
                with self._in_flight_lock:
                    self._in_flight += len(work)
                try:
                    self._dispatch_batch(work)
                finally:
                    with self._in_flight_lock:
                        self._in_flight -= len(work)
                    for _ in batch:
                        self.inbox.task_done()
                if len(work) < len(batch):
                    return
        finally:
            connection.close()

    def _take_batch(self) -> list[object]:
        """One item (waiting for it), then whatever else is already waiting, up to DISPATCH_BATCH; a
        STOP ends the batch, so each dispatcher takes exactly one."""
        batch = [self.inbox.get()]
        while batch[-1] is not STOP and len(batch) < DISPATCH_BATCH:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _dispatch_batch(self, work: list[object]) -> None:
        """Handle each item, then queue all their replies in one transaction: under a backlog the
        commit, the costly part, is shared by the batch."""
        if not work:
            return
        close_old_connections()
        prefetch = getattr(getattr(self.router, "answered_before", None), "prefetch", None)
        if prefetch is not None:
            ids = [item.id for item in work if isinstance(item, IncomingMessage)]
            if not self._through_outage(lambda: prefetch(ids), what="reading handled message ids"):
                self._outage_abandon(len(work), what="messages")
                return
        reads: list[IncomingMessage] = []
        entries = [entry for entry in (self._dispatch(item, reads) for item in work) if entry is not None]
        if entries:
            replies = sum(len(r) for _, r in entries)
            if not self._through_outage(
                lambda: outbox_enqueue_many(session_name=self.session_name, entries=entries), what="queueing replies"
            ):
                self._outage_abandon(replies, what="replies")
                return
            if any(replies for _, replies in entries):
                self.sender.wake()
        if reads:
            receipts_send(self.transport, reads, session_name=self.session_name)

    def _dispatch(self, item: object, reads: list[IncomingMessage]) -> tuple[str, list[Reply]] | None:
        """Route one item; ``(answers, replies)`` to queue, or None when there is nothing to record.
        A message the router wants read receipted is added to ``reads``."""
        try:
            if isinstance(item, IncomingMessage):
                if not self.router_counts:
                    self.stats.incoming()
                result = self.router.handle(item)
                if getattr(result, "read", False):
                    reads.append(item)
            elif isinstance(item, IncomingCall):
                handler = getattr(self.router, "handle_call", None)
                if handler is None:
                    return None
                result = handler(item)
            elif isinstance(item, LivenessPong | PrimarySeen):
                self._liveness_seen(item)
                return None
            elif isinstance(item, MessageRevoked | MessageEdited):
                history = getattr(self.router, "history", None)  # anti-delete / anti-edit
                if history is None:
                    return None
                result = history.handle(item)
            elif isinstance(item, GroupChange):
                handler = getattr(self.router, "handle_group_change", None)
                if handler is None:
                    return None
                result = handler(item)
            else:
                return None
        except Exception:
            self.stats.error()
            logger.exception("handling a message failed", extra={"session": self.session_name})
            return None
        if not self.router_counts:
            if getattr(result, "command", None):
                self.stats.command(result.command)
            if getattr(result, "error", False):
                self.stats.error()
        replies = list(getattr(result, "replies", None) or [])
        # A message that ran a command or got an answer is recorded as handled with its replies, so a
        # redelivery after a restart is not handled again.
        handled = isinstance(item, IncomingMessage) and bool(replies or getattr(result, "command", None))
        if not (replies or handled):
            return None
        return (item.id if handled else "", replies)

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

    def _through_outage(self, call: Callable[[], object], *, what: str) -> bool:
        """Run ``call``; while the database is away, hold the work in hand and try again until it is
        back or the child stops (one warning per outage, no traces). False: not done."""
        watch = outage_watch()
        wait = 0.25
        while True:
            try:
                call()
            except Exception as exc:
                if not is_outage(exc):
                    self.stats.error()
                    logger.exception("database call failed", extra={"session": self.session_name, "what": what})
                    return False
                watch.failed(exc)
                if self._stop.wait(wait):
                    return False
                wait = min(2.0, wait * 2)
                continue
            watch.ok()
            return True

    def _outage_abandon(self, count: int, *, what: str) -> None:
        """The child stops while the database is still away: say what was not kept, and count it."""
        self.stats.error()
        logger.warning(
            "database unreachable while stopping: not kept",
            extra={"session": self.session_name, "what": what, "count": count},
        )
