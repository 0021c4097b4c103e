"""Is the connection really carrying messages? A round trip through WhatsApp, judged without threads.

A heartbeat proves the process and a socket that claims to be connected; the commonest failure of
WhatsApp bots is a socket that stays "connected" and stops carrying anything. So while connected the
child asks WhatsApp's servers a question every ``interval`` seconds (and soon after each reconnect)
and waits for the answer on the path messages take (``LivenessPong`` through the inbox). ``failures``
unanswered questions in a row make the child deaf: the runtime restarts it (``ChildExit.DEAF``).

This module only keeps the books: the runtime's heartbeat thread calls :meth:`LivenessWatch.tick`
and carries out what it returns; a controlled clock tests every rule.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RECENT_TOKENS = 8  # a late answer to one of these still proves the path works


@dataclass(frozen=True)
class LivenessConfig:
    interval: float = 900.0  # seconds between round trips while connected (LIVENESS_INTERVAL minutes)
    timeout: float = 30.0  # seconds an answer may take before the question counts as unanswered
    failures: int = 3  # unanswered questions in a row that make the connection deaf (LIVENESS_FAILURES)
    after_connect: float = 10.0  # the first question after each (re)connect, once the offline backlog is in
    restarts: bool = True  # False once deaf restarts did not help: alert, keep the connection, keep asking


@dataclass(frozen=True)
class Step:
    """What the runtime must do now: ``probe`` (send ``token``) or ``deaf`` (restart the child)."""

    action: str
    token: str = ""
    failures: int = 0


class LivenessWatch:
    """The liveness books of one child: questions asked, answers seen, inbound traffic, verdicts."""

    def __init__(
        self,
        config: LivenessConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.wall = wall
        self.failures = 0  # unanswered in a row
        self.sent = self.answered = self.unanswered = 0
        self.last_ok_at: float | None = None  # wall clock, for /stats and /metrics
        self.last_inbound_at: float | None = None  # any event from WhatsApp
        self.last_message_at: float | None = None
        self.rtt_ms: float | None = None
        self.deaf_reported = False
        self._next_at: float | None = None  # monotonic; None while not connected
        self._outstanding: tuple[str, float] | None = None  # (token, sent at)
        self._recent: deque[str] = deque(maxlen=RECENT_TOKENS)
        self._lock = threading.Lock()  # pong() runs on a dispatcher, tick() on the heartbeat thread

    # -- what the runtime reports ---------------------------------------------------------------
    def connected(self) -> None:
        """A (re)connect: a question soon, a clean count (a new socket is a new chance)."""
        self._outstanding = None
        self.failures = 0
        self._next_at = self.clock() + self.config.after_connect

    def disconnected(self) -> None:
        """No questions while the socket is down: the reconnect logic owns that state."""
        self._outstanding = None
        self._next_at = None

    def hold(self) -> None:
        """The answer may be stuck behind something that is not the connection (a database outage
        holds the dispatchers): the question's timeout starts again."""
        if self._outstanding is not None:
            self._outstanding = (self._outstanding[0], self.clock())

    def inbound(self, *, message: bool) -> None:
        now = self.wall()
        self.last_inbound_at = now
        if message:
            self.last_message_at = now

    def pong(self, token: str) -> bool:
        """An answer arrived. True when it answers one of our recent questions."""
        with self._lock:
            return self._pong(token)

    def _pong(self, token: str) -> bool:
        if token not in self._recent:
            return False
        now = self.clock()
        if self._outstanding is not None and self._outstanding[0] == token:
            self.rtt_ms = round((now - self._outstanding[1]) * 1000, 1)
            self._outstanding = None
        self.answered += 1
        self.failures = 0
        self.deaf_reported = False
        self.last_ok_at = self.wall()
        self.inbound(message=False)
        if self._next_at is not None:
            self._next_at = now + self.config.interval
        return True

    # -- the heartbeat's question ---------------------------------------------------------------
    def tick(self) -> Step | None:
        """Called every few seconds: a question due, an answer overdue, or nothing to do."""
        with self._lock:
            return self._tick()

    def _tick(self) -> Step | None:
        if self._next_at is None:
            return None
        now = self.clock()
        if self._outstanding is not None:
            if now - self._outstanding[1] < self.config.timeout:
                return None
            self._outstanding = None
            self.failures += 1
            self.unanswered += 1
            self._next_at = now  # ask again at once: N failures take N timeouts, not N intervals
            if self.failures >= self.config.failures:
                self._next_at = now + self.config.interval  # alert mode keeps asking at the normal pace
                return Step("deaf", failures=self.failures)
        if now < self._next_at:
            return None
        token = secrets.token_hex(8)
        self._recent.append(token)
        self._outstanding = (token, now)
        self.sent += 1
        return Step("probe", token=token)

    def snapshot(self) -> dict[str, object]:
        """What the heartbeat carries to BotStatus.detail. Times are ages in seconds at the beat (None:
        never), so the web adds the beat's own age and never compares two machines' clocks."""
        now = self.wall()

        def ago(at: float | None) -> float | None:
            return None if at is None else round(max(0.0, now - at), 1)

        return {
            "liveness_ok_ago": ago(self.last_ok_at),
            "liveness_failures": self.failures,
            "liveness_sent": self.sent,
            "liveness_answered": self.answered,
            "liveness_unanswered": self.unanswered,
            "liveness_rtt_ms": self.rtt_ms,
            "liveness_interval": self.config.interval,
            "liveness_deaf_after": self.config.failures,
            "inbound_ago": ago(self.last_inbound_at),
            "message_ago": ago(self.last_message_at),
        }
