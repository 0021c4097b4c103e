"""The durable outbox: every write to ``OutboxItem`` and ``HandledMessage``, and the reads the sender needs.

Imported by the bot child (the dispatcher queues, the sender drains), by ``bot.admin`` in the web
process (retry and discard) and by ``bot.retention`` (pruning); so it imports neither
``bot.dispatch`` nor ``bot.transport`` (a reply is read by its fields). Every write to these tables
lives here, so a check that refuses a stale child's writes can be added in one place.

Replies are stored as their seam fields (``content``); media go by asset name, never bytes, and are
resolved when sent. A state change is a compare-and-set on ``state=queued``, so an operator's discard
and a sender's send never both win.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Min
from django.utils import timezone

from bot.models import HandledMessage, OutboxItem
from sessions_store.lease import StaleFencing, lease_fence_check

logger = logging.getLogger(__name__)

State = OutboxItem.State
CONTENT_FIELDS = (
    "text",
    "mentions",
    "reply_to",
    "target",
    "asset",
    "gif_playback",
    "emoji",
    "action",
    "targets",
    "options",
)
HEADS_SCANNED = 32  # chats looked at per pick, oldest first (a lane needs one ready chat not another lane's)
LOCKED_RETRIES = 40  # x 50 ms: SQLite's busy timeout does not cover shared-cache table locks

F = TypeVar("F", bound=Callable[..., Any])
_SQLITE_TURN = threading.RLock()


def one_at_a_time(fn: F) -> F:
    """On SQLite, the child's threads take turns here (SQLite has one writer anyway, and a reader
    beside an open write fails at once in shared-cache mode); a "locked" error from a writer
    elsewhere in the process is retried for up to two seconds. PostgreSQL runs them side by side."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if connection.vendor != "sqlite":
            return fn(*args, **kwargs)
        for attempt in range(LOCKED_RETRIES + 1):
            try:
                with _SQLITE_TURN:
                    return fn(*args, **kwargs)
            except OperationalError as exc:
                if "locked" not in str(exc) or attempt == LOCKED_RETRIES or connection.in_atomic_block:
                    raise
            time.sleep(0.05)
        raise AssertionError("unreachable")

    return wrapper  # type: ignore[return-value]


def reply_content(reply: Any) -> dict:
    """The JSON stored for a seam ``Reply``: its content fields with defaults left out (media bytes never)."""
    defaults = {f.name: f.default for f in dataclasses.fields(reply)}
    content = {}
    for name in CONTENT_FIELDS:
        value = getattr(reply, name)
        if value != defaults[name]:
            content[name] = list(value) if isinstance(value, tuple) else value
    return content


def max_age() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_MAX_AGE_SECONDS)


# -- the dispatcher ------------------------------------------------------------------------------------
@one_at_a_time
def handled_message_seen(*, session_name: str, message_id: str) -> bool:
    """True when this message id was answered before (by this child or an earlier one)."""
    if not message_id:
        return False
    return HandledMessage.objects.filter(session_name=session_name, message_id=message_id).exists()


class HandledIds:
    """The router's ``answered_before``: is this message id handled already? A dispatcher that took a
    batch of messages asks for all their ids in one query first (``prefetch``); the answers are kept
    per thread, and an id not prefetched is looked up on its own."""

    def __init__(self, *, session_name: str) -> None:
        self.session_name = session_name
        self._local = threading.local()

    def prefetch(self, message_ids: list[str]) -> None:
        ids = [m for m in message_ids if m]
        self._local.asked = set(ids)
        self._local.known = handled_messages_among(session_name=self.session_name, message_ids=ids) if ids else set()

    def __call__(self, message_id: str) -> bool:
        if message_id in getattr(self._local, "asked", ()):
            return message_id in self._local.known
        return handled_message_seen(session_name=self.session_name, message_id=message_id)


@one_at_a_time
def handled_messages_among(*, session_name: str, message_ids: list[str]) -> set[str]:
    """Which of ``message_ids`` were handled; one plain query (the ORM's compile cost more than it)."""
    marks = ", ".join(["%s"] * len(message_ids))
    sql = f"SELECT message_id FROM {HandledMessage._meta.db_table} WHERE session_name = %s AND message_id IN ({marks})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [session_name, *message_ids])
        return {row[0] for row in cursor.fetchall()}


@one_at_a_time
def outbox_enqueue_many(
    *, session_name: str, entries: list[tuple[str, list[Any]]], now: datetime | None = None
) -> int:
    """``outbox_enqueue`` for a batch of handled messages, ``(answers, replies)`` each, in one
    transaction (one commit, the cost that matters, for the batch). A redelivered id among them
    makes it fall back to one transaction per message, so only that one is left out. Returns how
    many entries were written.

    Plain multi-row INSERTs: the ORM's ``bulk_create`` spent four times the database's own time
    building the statement (bench/dispatch.py)."""
    now = now or timezone.now()
    at = connection.ops.adapt_datetimefield_value(now)
    until = connection.ops.adapt_datetimefield_value(now + max_age())
    content_field = OutboxItem._meta.get_field("content")
    as_json = (  # SQLite stores the JSON text; PostgreSQL's adapter is the field's own
        (lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        if connection.vendor == "sqlite"
        else (lambda value: content_field.get_db_prep_save(value, connection))
    )
    handled = [(session_name, answers, at) for answers, _ in entries if answers]
    rows = [
        (
            session_name,
            reply.chat,
            reply.kind,
            as_json(reply_content(reply)),
            answers,
            at,
            until,
            State.QUEUED.value,
        )
        for answers, replies in entries
        for reply in replies
    ]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in (*_multi_row(_INSERT_HANDLED, handled), *_multi_row(_INSERT_ITEM, rows)):
                cursor.execute(sql, params)
    except IntegrityError:
        return sum(
            outbox_enqueue(session_name=session_name, replies=replies, answers=answers, now=now) is not None
            for answers, replies in entries
        )
    return len(entries)


_INSERT_HANDLED = (
    f"INSERT INTO {HandledMessage._meta.db_table} (session_name, message_id, at) VALUES ",  # noqa: S608
    "(%s, %s, %s)",
)
_INSERT_ITEM = (
    f"INSERT INTO {OutboxItem._meta.db_table} (session_name, chat, kind, content, answers, created_at, "  # noqa: S608
    "not_after, state, attempts, last_error, message_id) VALUES ",
    "(%s, %s, %s, %s, %s, %s, %s, %s, 0, '', '')",
)
ROWS_PER_STATEMENT = 200  # well under SQLite's 32766 bound parameters


def _multi_row(insert: tuple[str, str], rows: list[tuple]) -> list[tuple[str, list]]:
    """One INSERT ... VALUES (...), (...) per ``ROWS_PER_STATEMENT`` rows: one round trip each
    (``executemany`` cost a round trip per row on PostgreSQL)."""
    head, one = insert
    statements = []
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        chunk = rows[start : start + ROWS_PER_STATEMENT]
        statements.append((head + ", ".join([one] * len(chunk)), [value for row in chunk for value in row]))
    return statements


@one_at_a_time
def outbox_enqueue(
    *, session_name: str, replies: list[Any], answers: str = "", now: datetime | None = None
) -> list[int] | None:
    """Queue ``replies`` and, when ``answers`` names the incoming message, record it as handled: one
    transaction, so a message is either answered and marked or neither. None when ``answers`` was
    handled already (a redelivery raced us): nothing is written."""
    now = now or timezone.now()
    not_after = now + max_age()
    rows = [
        OutboxItem(
            session_name=session_name,
            chat=reply.chat,
            kind=reply.kind,
            content=reply_content(reply),
            answers=answers,
            created_at=now,
            not_after=not_after,
        )
        for reply in replies
    ]
    try:
        with transaction.atomic():
            if answers:
                HandledMessage.objects.create(session_name=session_name, message_id=answers, at=now)
            created = OutboxItem.objects.bulk_create(rows)
    except IntegrityError:
        logger.info("message already handled; replies not queued", extra={"session": session_name, "msg_id": answers})
        return None
    return [row.pk for row in created if row.pk is not None]


# -- the sender --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Head:
    """The first queued item of one chat (a chat's items go out in order, so only its head may be sent)."""

    id: int
    chat: str
    ready: bool  # no back-off pending
    expired: bool = False  # past its not_after: to be marked, never sent


@one_at_a_time
def outbox_heads(*, session_name: str, now: datetime, limit: int = HEADS_SCANNED) -> list[Head]:
    """Each chat's first queued item, oldest first (at most ``limit`` chats): the database groups
    the queued rows by chat, so a long backlog in one chat costs one row here, not thousands."""
    queued = OutboxItem.objects.filter(session_name=session_name, state=State.QUEUED)
    first_ids = queued.values("chat").annotate(first=Min("id")).order_by("first").values_list("first", flat=True)
    rows = OutboxItem.objects.filter(pk__in=list(first_ids[:limit])).order_by("id")
    return [
        Head(
            id=pk,
            chat=chat,
            ready=not_after >= now and (next_at is None or next_at <= now),
            expired=not_after < now,
        )
        for pk, chat, next_at, not_after in rows.values_list("id", "chat", "next_attempt_at", "not_after")
    ]


@one_at_a_time
def outbox_expire(*, session_name: str, now: datetime) -> int:
    """Mark queued items past their ``not_after`` expired; returns how many."""
    return OutboxItem.objects.filter(session_name=session_name, state=State.QUEUED, not_after__lt=now).update(
        state=State.EXPIRED, last_error="older than OUTBOX_MAX_AGE_SECONDS"
    )


@one_at_a_time
def outbox_attempt_begin(
    *, item_id: int, now: datetime, message_id: str = "", fencing: int | None = None
) -> OutboxItem | None:
    """Claim a queued item for one send: count the attempt and persist the message id (when the
    transport lets us fix it) before anything goes out. None when it is no longer queued, or when
    ``fencing`` (the sending child's lease number) is stale: the session's new owner sends it."""
    changes: dict = {"attempted_at": now}
    if message_id:
        changes["message_id"] = message_id
    with transaction.atomic():
        item = OutboxItem.objects.select_for_update().filter(pk=item_id, state=State.QUEUED).first()
        if item is None:
            return None
        if fencing is not None:  # the locked row names its session: no second read of it
            try:
                lease_fence_check(session_name=item.session_name, fencing=fencing)
            except StaleFencing:
                logger.warning("send refused: the lease moved on", extra={"item": item_id, "fencing": fencing})
                return None
        if item.message_id:  # fixed by an earlier attempt: a resend must reuse it
            changes.pop("message_id", None)
        item.attempts += 1
        OutboxItem.objects.filter(pk=item_id).update(attempts=item.attempts, **changes)
    for name, value in changes.items():
        setattr(item, name, value)
    return item


@one_at_a_time
def outbox_mark_sent(*, item_id: int, message_id: str, now: datetime) -> bool:
    return bool(
        OutboxItem.objects.filter(pk=item_id, state=State.QUEUED).update(
            state=State.SENT, message_id=message_id, sent_at=now, last_error=""
        )
    )


@one_at_a_time
def outbox_mark_retry(*, item_id: int, error: str, retry_at: datetime) -> bool:
    """A transient send error: the item stays queued (its chat waits behind it) until ``retry_at``."""
    return bool(
        OutboxItem.objects.filter(pk=item_id, state=State.QUEUED).update(
            next_attempt_at=retry_at, last_error=error[:255]
        )
    )


@one_at_a_time
def outbox_mark_failed(*, item_id: int, error: str) -> bool:
    return bool(
        OutboxItem.objects.filter(pk=item_id, state=State.QUEUED).update(state=State.FAILED, last_error=error[:255])
    )


@one_at_a_time
def outbox_item_queued(*, item_id: int) -> OutboxItem | None:
    return OutboxItem.objects.filter(pk=item_id, state=State.QUEUED).first()


@one_at_a_time
def outbox_pending(*, session_name: str) -> int:
    return OutboxItem.objects.filter(session_name=session_name, state=State.QUEUED).count()


@one_at_a_time
def outbox_leftovers(*, session_name: str, before: datetime) -> tuple[int, int]:
    """Queued items created before ``before`` (an earlier owner's), and how many of them were being
    sent when it stopped (their send may have gone out)."""
    queued = OutboxItem.objects.filter(session_name=session_name, state=State.QUEUED, created_at__lt=before)
    return queued.count(), queued.filter(attempted_at__isnull=False).count()


# -- what is left -----------------------------------------------------------------------------------------
@one_at_a_time
def outbox_counts(*, session_name: str) -> dict[str, int]:
    """Rows per state for one session (every state present, 0 when none)."""
    counts = {state.value: 0 for state in State}
    rows = OutboxItem.objects.filter(session_name=session_name).values("state").annotate(n=Count("id"))
    for row in rows:
        counts[row["state"]] = row["n"]
    return counts


@one_at_a_time
def outbox_oldest_queued(*, session_name: str) -> datetime | None:
    return OutboxItem.objects.filter(session_name=session_name, state=State.QUEUED).aggregate(t=Min("created_at"))["t"]


# -- operators --------------------------------------------------------------------------------------------
@one_at_a_time
def outbox_item_retry(*, item_ids: list[int], now: datetime | None = None) -> int:
    """Queue failed or expired items again, with a fresh age budget; returns how many."""
    now = now or timezone.now()
    return OutboxItem.objects.filter(pk__in=item_ids, state__in=[State.FAILED, State.EXPIRED]).update(
        state=State.QUEUED, attempts=0, next_attempt_at=None, last_error="", not_after=now + max_age()
    )


@one_at_a_time
def outbox_item_discard(*, item_ids: list[int], by: str = "") -> int:
    """Drop queued or failed items: they are kept, marked discarded, and never sent."""
    return OutboxItem.objects.filter(pk__in=item_ids, state__in=[State.QUEUED, State.FAILED]).update(
        state=State.DISCARDED, last_error=f"discarded by {by}"[:255] if by else "discarded by an operator"
    )


@one_at_a_time
def outbox_prune(*, now: datetime, days: int) -> dict[str, int]:
    """Finished items and handled message ids older than ``days`` (queued ones are never pruned)."""
    cutoff = now - timedelta(days=days)
    finished = [State.SENT, State.FAILED, State.EXPIRED, State.DISCARDED]
    items, _ = OutboxItem.objects.filter(state__in=finished, created_at__lt=cutoff).delete()
    handled, _ = HandledMessage.objects.filter(at__lt=cutoff).delete()
    return {"outbox_items": items, "handled_messages": handled}
