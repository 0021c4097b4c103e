"""The one message counter of a session: in memory, flushed to per-minute ``MessageStat`` rows.

The router counts what it handles (messages, commands, handler errors) and the child's runtime
counts what only it sees (sends, send failures, a full inbox) into the same collector, which the
heartbeat reports and ``.stats`` reads: every message is counted once. What goes wrong on the way
is counted under a key in ``counts`` (``undecryptable:failed``, ``send_failure:rate_overlimit``,
``reconnect:<reason>``, ``keepalive_timeout``; ``bot.child.counting`` names them), flushed the same
way into ``MessageStat.counts`` and carried by the heartbeat to ``/stats`` and ``/metrics``.

Counting is a lock and an integer add on the dispatcher threads; the database sees one upsert per
minute bucket per flush, never one write per message. A failed flush keeps the counts for the next
(a database outage is noted once by this process's ``bot.db_buffer`` watch, without a trace); at
most ``MAX_PENDING_MINUTES`` buckets wait, older ones are counted in ``lost_minutes``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from bot.db_buffer import is_outage, outage_watch
from bot.models import MessageStat

logger = logging.getLogger(__name__)

MAX_PENDING_MINUTES = 24 * 60  # unflushed minute buckets kept through an outage


@dataclass
class Bucket:
    messages_in: int = 0
    messages_out: int = 0
    commands: int = 0
    errors: int = 0
    by_command: Counter[str] = field(default_factory=Counter)
    rss_max_bytes: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def merge(self, other: Bucket) -> None:
        self.messages_in += other.messages_in
        self.messages_out += other.messages_out
        self.commands += other.commands
        self.errors += other.errors
        self.by_command.update(other.by_command)
        self.rss_max_bytes = max(self.rss_max_bytes, other.rss_max_bytes)
        self.counts.update(other.counts)


def _wall_minute() -> int:
    return int(time.time()) // 60


class StatsCollector:
    """Thread-safe counters per minute bucket plus running totals for the heartbeat."""

    def __init__(self, *, session_name: str, clock: Callable[[], datetime] | None = None) -> None:
        self.session_name = session_name
        # Counting runs for every message on the dispatcher threads: the bucket key is the epoch
        # minute as an int (one time.time() call), turned into a datetime only when flushed.
        self._minute = _wall_minute if clock is None else (lambda: int(clock().timestamp()) // 60)
        self._lock = threading.Lock()
        self._pending: dict[int, Bucket] = {}
        self.totals = Bucket()
        self.lost_minutes = 0  # buckets dropped because the database stayed away too long
        # Other in-memory tallies written on the same beat (the moderator's flood counts): each returns
        # the rows it touched and keeps what it could not write for the next flush.
        self.also_flush: list[Callable[[], int]] = []

    def _bucket(self) -> Bucket:
        key = self._minute()
        bucket = self._pending.get(key)
        if bucket is None:
            bucket = self._pending[key] = Bucket()
        return bucket

    def incoming(self, n: int = 1) -> None:
        with self._lock:
            self._bucket().messages_in += n
            self.totals.messages_in += n

    def outgoing(self, n: int = 1) -> None:
        with self._lock:
            self._bucket().messages_out += n
            self.totals.messages_out += n

    def command(self, name: str, *, error: bool = False) -> None:
        with self._lock:
            bucket = self._bucket()
            bucket.commands += 1
            bucket.by_command[name] += 1
            self.totals.commands += 1
            self.totals.by_command[name] += 1
            if error:
                bucket.errors += 1
                self.totals.errors += 1

    def error(self, n: int = 1) -> None:
        with self._lock:
            self._bucket().errors += n
            self.totals.errors += n

    def count(self, key: str, n: int = 1) -> None:
        """One more of something that went wrong (an undecryptable message, a failed send...)."""
        with self._lock:
            self._bucket().counts[key] += n
            self.totals.counts[key] += n

    def counts_total(self) -> dict[str, int]:
        """The ``counts`` since this child started, copied under the lock (for the heartbeat)."""
        with self._lock:
            return dict(self.totals.counts)

    def rss(self, rss_bytes: int) -> None:
        with self._lock:
            bucket = self._bucket()
            bucket.rss_max_bytes = max(bucket.rss_max_bytes, rss_bytes)
            self.totals.rss_max_bytes = max(self.totals.rss_max_bytes, rss_bytes)

    def flush(self) -> int:
        """Write the pending buckets; returns how many rows were touched. Failures keep the counts.

        While this process knows the database is away nothing is tried (each try could wait for a
        timeout): its watch probes and says when it is back.
        """
        watch = outage_watch()
        if watch.down:
            return 0
        with self._lock:
            pending, self._pending = self._pending, {}
        written = 0
        ordered = sorted(pending.items())
        for n, (key, bucket) in enumerate(ordered):
            minute = datetime.fromtimestamp(key * 60, tz=UTC)
            try:
                _upsert(self.session_name, minute, bucket)
                written += 1
                watch.ok()
            except Exception as exc:
                if is_outage(exc):
                    watch.failed(exc)
                else:
                    # One line, no traceback: a locked database is an operating condition, and the
                    # counts are not lost.
                    logger.warning(
                        "stats flush failed; counts kept for the next flush",
                        extra={"bucket": minute, "error": f"{type(exc).__name__}: {exc}"[:300]},
                    )
                self._keep(ordered[n:])  # this bucket and the ones after it: the next flush writes them
                break
        for extra in self.also_flush:
            try:
                written += extra()
            except Exception as exc:
                logger.warning("a tally's flush failed; kept for the next flush", extra={"error": str(exc)[:300]})
        return written

    def _keep(self, buckets: list[tuple[int, Bucket]]) -> None:
        with self._lock:
            for key, bucket in buckets:
                self._pending.setdefault(key, Bucket()).merge(bucket)
            while len(self._pending) > MAX_PENDING_MINUTES:
                del self._pending[min(self._pending)]
                self.lost_minutes += 1

    @property
    def unflushed(self) -> int:
        """Minute buckets waiting for the database."""
        return len(self._pending)


def _upsert(session_name: str, minute: datetime, bucket: Bucket) -> None:
    for _ in range(2):  # a concurrent insert of the same bucket: retry once as an update
        try:
            with transaction.atomic():
                row = (
                    MessageStat.objects.select_for_update()
                    .filter(session_name=session_name, resolution=MessageStat.Resolution.MINUTE, bucket=minute)
                    .first()
                )
                if row is None:
                    MessageStat.objects.create(
                        session_name=session_name,
                        resolution=MessageStat.Resolution.MINUTE,
                        bucket=minute,
                        messages_in=bucket.messages_in,
                        messages_out=bucket.messages_out,
                        commands=bucket.commands,
                        errors=bucket.errors,
                        by_command=dict(bucket.by_command),
                        rss_max_bytes=bucket.rss_max_bytes,
                        counts=dict(bucket.counts),
                    )
                    return
                row.messages_in += bucket.messages_in
                row.messages_out += bucket.messages_out
                row.commands += bucket.commands
                row.errors += bucket.errors
                merged = Counter(row.by_command or {})
                merged.update(bucket.by_command)
                row.by_command = dict(merged)
                row.rss_max_bytes = max(row.rss_max_bytes, bucket.rss_max_bytes)
                row.counts = dict(Counter(row.counts or {}) + bucket.counts)
                row.save(
                    update_fields=[
                        "messages_in",
                        "messages_out",
                        "commands",
                        "errors",
                        "by_command",
                        "rss_max_bytes",
                        "counts",
                    ]
                )
                return
        except IntegrityError:
            continue
    raise IntegrityError(f"could not upsert the stats bucket {minute.isoformat()}")
