"""The bot child's outbox sender: drains a session's queued replies to WhatsApp with the usual pacing.

Imported by ``bot.child.runtime`` only. Lanes (threads) take one chat's head item at a time, so a
chat's replies go out in order while a paced chat never holds up another. Each item: claim it (the
attempt counted and, when the transport can fix ids, the message id stored before the send),
``Outbound.attempt``, then sent, queued again with back-off (a transport error), or failed (a bug,
bad content, or ``MAX_ATTEMPTS`` used). Items past their ``not_after`` are marked expired, never
sent. ``drain(deadline)`` is the shutdown: send what can go before the deadline, leave the rest.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from django.db import close_old_connections, connection
from django.utils import timezone

from bot import outbox
from bot.backoff import BackoffPolicy
from bot.db_buffer import is_outage, outage_watch
from bot.dispatch.outbound import Outbound
from bot.dispatch.stats import StatsCollector
from bot.models import OutboxItem
from bot.transport.base import Reply

logger = logging.getLogger("bot.child.sending")

MAX_ATTEMPTS = 5
RETRY_BACKOFF = BackoffPolicy(base=2.0, cap=60.0, max_attempts=MAX_ATTEMPTS)
IDLE_WAIT = 1.0  # seconds a lane sleeps with nothing ready (a new item wakes it at once)


def item_reply(item: OutboxItem) -> Reply:
    """The ``Reply`` a stored row stands for (``message_id`` set when one was fixed before sending)."""
    content = dict(item.content or {})
    for name in ("mentions", "targets", "options"):
        if name in content:
            content[name] = tuple(content[name])
    unknown = set(content) - set(outbox.CONTENT_FIELDS)
    if unknown:
        raise ValueError(f"unknown reply field(s) {sorted(unknown)}")
    return Reply(kind=item.kind, chat=item.chat, message_id=item.message_id, **content)  # type: ignore[arg-type]


def new_message_id() -> str:
    """A WhatsApp-style id (upper-case hex, as whatsmeow's own), fixed before the first send."""
    return "3EB0" + uuid.uuid4().hex[:18].upper()


class OutboxSender:
    """One session's sender. ``step()`` does one item (tests call it directly); ``start()`` runs lanes."""

    def __init__(
        self,
        *,
        session_name: str,
        outbound: Outbound,
        stats: StatsCollector,
        can_send: Callable[[], bool] = lambda: True,
        lanes: int = 2,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = timezone.now,
        backoff: BackoffPolicy = RETRY_BACKOFF,
        fencing: Callable[[], int | None] = lambda: None,
    ) -> None:
        self.session_name = session_name
        self.fencing = fencing  # the lease number each send is claimed under (None: nothing to fence)
        self.outbound = outbound
        self.stats = stats
        self.can_send = can_send
        self.lanes = max(1, lanes)
        self.clock = clock
        self.now = now
        self.backoff = backoff
        self.fixes_ids = bool(getattr(outbound.transport, "fixes_message_ids", False))
        self.deadline: float | None = None  # on ``clock``; set by drain()
        self.sent = 0
        self.failed = 0
        self.expired = 0
        self.retried = 0
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._wakes = [threading.Event() for _ in range(self.lanes)]  # one per lane: no lane eats another's wake
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._checked_leftovers = False
        self._last_expire: float | None = None

    # -- one item ---------------------------------------------------------------------------------------
    def step(self) -> bool:
        """Send (or settle) one ready head item; False when nothing was ready."""
        if not self.can_send() or self.outbound.is_paused():
            return False
        now = self.now()
        self._note_leftovers(now)
        heads = outbox.outbox_heads(session_name=self.session_name, now=now)
        if any(head.expired for head in heads) and self.expire_due(now=now, every=0.0):
            heads = outbox.outbox_heads(session_name=self.session_name, now=now)
        with self._lock:
            busy = set(self._busy)
        for head in heads:
            if not head.ready or head.chat in busy:
                continue
            with self._lock:
                if head.chat in self._busy:
                    continue
                self._busy.add(head.chat)
            try:
                if self._send_one(head.id):
                    return True
            finally:
                with self._lock:
                    self._busy.discard(head.chat)
        return False

    def expire_due(self, *, now: datetime, every: float = 1.0) -> int:
        """Mark items past ``not_after`` expired (at most once per ``every`` seconds); returns how many."""
        if self._last_expire is not None and self.clock() - self._last_expire < every:
            return 0
        self._last_expire = self.clock()
        expired = outbox.outbox_expire(session_name=self.session_name, now=now)
        if expired:
            self.expired += expired
            logger.warning("outbox items expired", extra={"session": self.session_name, "expired": expired})
        return expired

    def _send_one(self, item_id: int) -> bool:
        """True when this item was settled or tried (sent, retried, failed); False when it did not go."""
        row = outbox.outbox_item_queued(item_id=item_id)
        if row is None:
            return False
        try:
            reply = item_reply(row)
        except (TypeError, ValueError) as exc:
            outbox.outbox_mark_failed(item_id=item_id, error=f"unreadable content: {exc}")
            self.failed += 1
            return True
        if self.fixes_ids and not reply.message_id:
            reply = replace(reply, message_id=new_message_id())
        claimed: list = []

        def claim() -> bool:  # right before the transport: the attempt and the id are on disk first
            item = outbox.outbox_attempt_begin(
                item_id=item_id, now=self.now(), message_id=reply.message_id, fencing=self.fencing()
            )
            claimed.append(item)
            return item is not None

        outcome = self.outbound.attempt(reply, deadline=self.deadline, before_send=claim)
        item = claimed[0] if claimed else None
        if outcome.state in {"retry", "failed"} and item is not None:  # the transport was asked and refused
            self.stats.count(f"send_failure:{outcome.error_kind or 'other'}")
        if outcome.state == "sent" and item is not None:
            message_id = (outcome.result.id if outcome.result else "") or item.message_id
            outbox.outbox_mark_sent(item_id=item_id, message_id=message_id, now=self.now())
            self.sent += 1
            self.stats.outgoing()
            return True
        if outcome.state == "retry" and item is not None:
            if item.attempts >= MAX_ATTEMPTS:
                outbox.outbox_mark_failed(item_id=item_id, error=f"{outcome.error} (after {item.attempts} attempts)")
                self.failed += 1
            else:
                delay = self.backoff.delay(item.attempts)
                outbox.outbox_mark_retry(
                    item_id=item_id, error=outcome.error, retry_at=self.now() + timedelta(seconds=delay)
                )
                self.retried += 1
            return True
        if outcome.state == "failed" and item is not None:
            outbox.outbox_mark_failed(item_id=item_id, error=outcome.error)
            self.failed += 1
            return True
        return False  # paused, deferred past the deadline, or gone: it stays as it is

    def _note_leftovers(self, now: datetime) -> None:
        """Once per child: say what an earlier owner left queued (and whether a send may have gone out)."""
        if self._checked_leftovers:
            return
        self._checked_leftovers = True
        left, in_doubt = outbox.outbox_leftovers(session_name=self.session_name, before=now)
        if left:
            logger.info(
                "outbox: sending what was left queued",
                extra={
                    "session": self.session_name,
                    "queued": left,
                    "maybe_sent_before": 0 if self.fixes_ids else in_doubt,  # without a fixed id a resend may repeat
                },
            )

    # -- threads ----------------------------------------------------------------------------------------
    def start(self) -> None:
        for n in range(self.lanes):
            thread = threading.Thread(target=self._lane, args=(self._wakes[n],), name=f"sender-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        for wake in self._wakes:
            wake.set()

    def _lane(self, wake: threading.Event) -> None:
        try:
            while not self._stop.is_set():
                if self.deadline is not None and self.clock() >= self.deadline:
                    return
                wake.clear()  # before the step: a wake during it makes the wait below return at once
                close_old_connections()
                try:
                    did = self.step()  # a step may not touch the database: only failures speak to the watch
                except Exception as exc:
                    if is_outage(exc):
                        outage_watch().failed(exc)  # one warning per outage; the items wait, queued
                    else:
                        logger.exception("outbox sender step failed", extra={"session": self.session_name})
                    did = False
                if not did and not self._stop.is_set():
                    wake.wait(IDLE_WAIT)
        finally:
            connection.close()

    def pending(self) -> int:
        return outbox.outbox_pending(session_name=self.session_name)

    def drain(self, *, deadline: float | None) -> int:
        """Send until nothing is queued (or only items that cannot go), or ``deadline`` (``clock``)
        passes; then stop the lanes. Returns how many stay queued. ``None``: no deadline (the console's
        end of input), which still ends, because every item expires."""
        self.hurry(deadline=deadline)
        self.wake()
        left = self.pending()
        while left and self.can_send() and (self.deadline is None or self.clock() < self.deadline):
            time.sleep(0.05)
            if self.deadline is None:  # nothing will send an expired item: settle them here too
                self.expire_due(now=self.now())
            left = self.pending()
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(max(0.1, (self.deadline - self.clock()) if self.deadline is not None else 5.0))
        return self.pending()

    def hurry(self, *, deadline: float | None) -> None:
        """Stop sending at ``deadline`` (never later than one already set): a SIGTERM during the
        console's open-ended wait for its outbox bounds it."""
        if deadline is not None and (self.deadline is None or deadline < self.deadline):
            self.deadline = deadline

    def report(self) -> dict[str, int]:
        """What this child did, and what the table holds for the session now (for the shutdown line)."""
        counts = outbox.outbox_counts(session_name=self.session_name)
        return {
            "outbox_queued": counts["queued"],
            "outbox_sent": self.sent,
            "outbox_failed": self.failed,
            "outbox_expired": self.expired,
            "outbox_retried": self.retried,
        }
