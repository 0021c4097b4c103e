"""The stale-store alert: messages that fail to decrypt right after a restore, judged by the supervisor.

A restored store whose Signal sessions are older than the phone's (a backup from before a re-link, a
store another machine went on using) cannot read what contacts send: whatsmeow reports each such
message as ``UndecryptableMessage`` (not ``unavailable``: that is the server's placeholder and says
nothing about our keys). The child counts them (``undecryptable:failed``); the supervisor, which ran
the restore and outlives its children, compares the count since the restore with
``UNDECRYPTABLE_ALERT_COUNT`` for ``UNDECRYPTABLE_ALERT_MINUTES``.

``RestoreWatch`` is pure (clock injected) and tested by a table; ``RestoreWatching`` is the
supervisor's mixin that arms it after a restore and says it once: a WARNING line, the webhook and a
``ConnectionEvent`` (reason ``undecryptable_after_restore``) that ``/stats`` and ``/metrics`` show.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from bot import events
from bot.reasons import UNDECRYPTABLE_AFTER_RESTORE as ALERT_REASON
from bot.session_origin import RESTORING_SOURCES

logger = logging.getLogger(__name__)

FAILED_KEY = "undecryptable:failed"


@dataclass(frozen=True)
class Rise:
    """What the alert says: how many failed within how long of which restore."""

    count: int
    seconds: float
    source: str


class RestoreWatch:
    """Armed by a restore; ``observe(total)`` returns the ``Rise`` once when the threshold is reached in time."""

    def __init__(self, *, threshold: int, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.window = minutes * 60.0
        self.clock = clock
        self.source = ""
        self._armed_at: float | None = None
        self._baseline = 0

    @property
    def armed(self) -> bool:
        return self._armed_at is not None

    def arm(self, *, source: str, baseline: int) -> bool:
        """After a restore: count from ``baseline`` (the failed total now). True when it armed."""
        if source not in RESTORING_SOURCES:
            return False
        self.source, self._armed_at, self._baseline = source, self.clock(), baseline
        return True

    def observe(self, total: int) -> Rise | None:
        """The failed total now; a ``Rise`` the first time it is ``threshold`` past the restore in the window."""
        if self._armed_at is None:
            return None
        elapsed = self.clock() - self._armed_at
        if elapsed > self.window:
            self._armed_at = None  # the window passed quietly: the restored store reads what comes
            return None
        count = total - self._baseline
        if count < self.threshold:
            return None
        self._armed_at = None  # once per restore
        return Rise(count=count, seconds=round(elapsed, 1), source=self.source)


class RestoreWatching:
    """The supervisor's side: arm after a restore, observe each beat written, alert once."""

    session_name: str
    webhooks: Any
    ownership: Any
    _counts_done: dict[str, int]
    _child_counts: dict[str, int]

    @property
    def restore_watch(self) -> RestoreWatch:
        watch = self.__dict__.get("_restore_watch")
        if watch is None:
            watch = self.__dict__["_restore_watch"] = RestoreWatch(
                threshold=settings.UNDECRYPTABLE_ALERT_COUNT,
                minutes=settings.UNDECRYPTABLE_ALERT_MINUTES,
                clock=getattr(self, "clock", time.monotonic),  # the supervisor's (a hand clock in tests)
            )
        return watch

    def _failed_total(self) -> int:
        return self._counts_done.get(FAILED_KEY, 0) + self._child_counts.get(FAILED_KEY, 0)

    def restore_watch_arm(self, outcome: Any) -> None:
        """Right after the restore chain: watch the messages that fail to decrypt when it restored a store."""
        source = str(getattr(outcome, "source", "") or "")
        if self.restore_watch.arm(source=source, baseline=self._failed_total()):
            logger.info(
                "watching undecryptable messages after the restore",
                extra={
                    "session": self.session_name,
                    "source": source,
                    "threshold": self.restore_watch.threshold,
                    "minutes": settings.UNDECRYPTABLE_ALERT_MINUTES,
                },
            )

    def restore_watch_observe(self, *, state: str) -> None:
        """After each beat written: alert once when the rise is there (WARNING line, webhook, event)."""
        rise = self.restore_watch.observe(self._failed_total())
        if rise is None:
            return
        detail = {
            "count": rise.count,
            "seconds": rise.seconds,
            "source": rise.source,
            "threshold": self.restore_watch.threshold,
            "minutes": settings.UNDECRYPTABLE_ALERT_MINUTES,
        }
        logger.warning(
            "messages fail to decrypt right after the restore: the restored store may be stale "
            "(pair again, or restore a newer backup)",
            extra={"session": self.session_name, **detail},
        )
        if self.webhooks is not None:
            self.webhooks.notify(
                session_name=self.session_name, from_state=state, to_state=state, reason=ALERT_REASON, at=timezone.now()
            )
        try:
            events.connection_event_record(
                session_name=self.session_name,
                from_state=state,
                to_state=state,
                reason=ALERT_REASON,
                detail=detail,
                fencing=self.ownership.fencing,  # a holder that lost the lease leaves the story to the new one
            )
        except Exception:
            logger.exception("recording the undecryptable alert failed", extra={"session": self.session_name})
