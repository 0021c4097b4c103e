"""Token buckets and cooldowns: what keeps the number from looking like a spam bot.

WhatsApp temporarily bans numbers that send too much, too fast, to too many chats. Three limits
apply, all in memory and driven by an injected clock (tests move time by hand):

- per user: commands a user may run per minute (``UserLimits``), plus each command's cooldown,
  each answered by at most one polite notice until the user is allowed again;
- per chat and global: outbound messages (``OutboundLimits``), spread out rather than refused --
  a reply waits for its token instead of being dropped.

A bucket holds ``capacity`` tokens and refills ``rate`` per second; ``reserve`` may take a token
that is not there yet (the balance goes negative) and returns how long to wait for it, so
concurrent senders queue up fairly without holding a lock while they wait.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

Clock = Callable[[], float]


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second (not thread-safe: callers lock)."""

    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, *, rate: float, capacity: float, now: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("a token bucket needs rate > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def try_take(self, now: float, n: float = 1.0) -> bool:
        """Take ``n`` tokens if they are there."""
        self._refill(now)
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False

    def reserve(self, now: float, n: float = 1.0) -> float:
        """Take ``n`` tokens now or on credit; seconds until they are really there (0 = now)."""
        self._refill(now)
        self.tokens -= n
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def wait_time(self, now: float, n: float = 1.0) -> float:
        """Seconds until ``n`` tokens are available, without taking them."""
        self._refill(now)
        return 0.0 if self.tokens >= n else (n - self.tokens) / self.rate

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class KeyedBuckets:
    """One bucket per key (user, chat); full buckets are forgotten first when there are too many."""

    def __init__(self, *, rate: float, capacity: float, max_keys: int = 20_000) -> None:
        self.rate = rate
        self.capacity = capacity
        self.max_keys = max_keys
        self._buckets: OrderedDict[Hashable, TokenBucket] = OrderedDict()

    def get(self, key: Hashable, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate=self.rate, capacity=self.capacity, now=now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.max_keys:
                self._evict(now)
        else:
            self._buckets.move_to_end(key)
        return bucket

    def _evict(self, now: float) -> None:
        # Oldest first; a forgotten full bucket is the same as a new one, so nothing is lost.
        for key in list(self._buckets)[: max(1, len(self._buckets) - self.max_keys)]:
            self._buckets.pop(key)

    def __len__(self) -> int:
        return len(self._buckets)

    def clear(self) -> None:
        self._buckets.clear()

    def retune(self, *, rate: float, capacity: float) -> None:
        """Change every bucket's rate and capacity (tokens above the new capacity are dropped)."""
        self.rate, self.capacity = rate, capacity
        for bucket in self._buckets.values():
            bucket.rate, bucket.capacity = rate, capacity
            bucket.tokens = min(bucket.tokens, capacity)


@dataclass(frozen=True)
class Verdict:
    """Whether a user's command may run; ``notify`` is True only for the first refusal in a row."""

    allowed: bool
    reason: str = ""  # "cooldown" or "rate"
    retry_after: float = 0.0
    notify: bool = False


ALLOWED = Verdict(allowed=True)


class UserLimits:
    """Per-user rate limit and per-(user, command) cooldowns, with one notice per refusal streak."""

    def __init__(self, *, per_minute: float, burst: int, clock: Clock = time.monotonic, max_keys: int = 20_000):
        self.clock = clock
        self.enabled = per_minute > 0
        self._buckets = KeyedBuckets(rate=max(per_minute, 0.001) / 60.0, capacity=max(1, burst), max_keys=max_keys)
        self._cooldown_until: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._noticed: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys
        self._lock = threading.Lock()

    def retune(self, *, per_minute: float, burst: int) -> None:
        """New limits (an owner changed them from the chat): kept buckets refill at the new rate."""
        rate, capacity = max(per_minute, 0.001) / 60.0, max(1, burst)
        if (self.enabled, self._buckets.rate, self._buckets.capacity) == (per_minute > 0, rate, capacity):
            return
        with self._lock:
            self.enabled = per_minute > 0
            self._buckets.retune(rate=rate, capacity=capacity)

    def cooldown_clear(self, user: str, command: str) -> None:
        """Give a run back: a wrong usage or a crash did no work, so it must not make the user wait."""
        with self._lock:
            self._cooldown_until.pop((user, command), None)

    def check(self, user: str, command: str, cooldown: float) -> Verdict:
        """Decide for one command run; a run that is allowed consumes a token and starts the cooldown."""
        if not self.enabled and cooldown <= 0:
            return ALLOWED  # no rate limit, and a command without cooldown never has an entry
        now = self.clock()
        with self._lock:
            until = self._cooldown_until.get((user, command), 0.0)
            if now < until:
                return self._refuse(user, "cooldown", until - now, now)
            if self.enabled:
                bucket = self._buckets.get(user, now)
                if not bucket.try_take(now):
                    return self._refuse(user, "rate", bucket.wait_time(now), now)
            if cooldown > 0:
                self._cooldown_until[(user, command)] = now + cooldown
                self._cooldown_until.move_to_end((user, command))
                self._trim(self._cooldown_until)
            if self._noticed:
                self._noticed.pop(user, None)
            return ALLOWED

    def _refuse(self, user: str, reason: str, retry_after: float, now: float) -> Verdict:
        noticed = user in self._noticed
        if not noticed:
            self._noticed[user] = now
            self._trim(self._noticed)
        return Verdict(allowed=False, reason=reason, retry_after=retry_after, notify=not noticed)

    def _trim(self, table: OrderedDict) -> None:
        while len(table) > self._max_keys:
            table.popitem(last=False)


class OncePer:
    """True at most once per ``interval`` seconds per key (unknown-command hints, notices)."""

    def __init__(self, *, interval: float, clock: Clock = time.monotonic, max_keys: int = 20_000) -> None:
        self.interval = interval
        self.clock = clock
        self.max_keys = max_keys
        self._last: OrderedDict[Hashable, float] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: Hashable) -> bool:
        now = self.clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                return False
            self._last[key] = now
            self._last.move_to_end(key)
            while len(self._last) > self.max_keys:
                self._last.popitem(last=False)
            return True


@dataclass(frozen=True)
class PacingConfig:
    """Outbound pacing limits. Defaults stay well under what WhatsApp tolerates from one number."""

    global_per_minute: float = 40.0
    chat_per_minute: float = 12.0
    burst: int = 5
    chat_burst: int = 3
    typing_seconds: float = 0.6  # "typing..." shown this long before a reply (humans do not answer in 0 ms)
    enabled: bool = True

    @classmethod
    def from_settings(cls) -> PacingConfig:
        """From OUTBOUND_PER_MINUTE (0 turns pacing off), OUTBOUND_CHAT_PER_MINUTE, TYPING_SECONDS."""
        from django.conf import settings

        global_rate = float(getattr(settings, "OUTBOUND_PER_MINUTE", cls.global_per_minute))
        chat_rate = float(getattr(settings, "OUTBOUND_CHAT_PER_MINUTE", cls.chat_per_minute))
        return cls(
            global_per_minute=global_rate if global_rate > 0 else cls.global_per_minute,
            chat_per_minute=chat_rate if chat_rate > 0 else max(global_rate, 1.0),
            typing_seconds=float(getattr(settings, "TYPING_SECONDS", cls.typing_seconds)),
            enabled=global_rate > 0,
        )


class OutboundLimits:
    """Global and per-chat buckets for outgoing messages; ``reserve`` says how long to wait."""

    def __init__(self, config: PacingConfig, *, clock: Clock = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.Lock()
        self._global = (
            TokenBucket(rate=config.global_per_minute / 60.0, capacity=max(1, config.burst), now=clock())
            if config.enabled
            else None
        )
        self._chats = KeyedBuckets(rate=config.chat_per_minute / 60.0, capacity=max(1, config.chat_burst))

    def reserve(self, chat: str) -> float:
        """Reserve one send to ``chat``; seconds to wait before sending (0 when pacing is off)."""
        if self._global is None:
            return 0.0
        now = self.clock()
        with self._lock:
            global_wait = self._global.reserve(now)
            chat_wait = self._chats.get(chat, now).reserve(now)
        return max(global_wait, chat_wait)
