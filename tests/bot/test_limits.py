"""Token buckets, cooldowns and notices with a controlled clock."""

from __future__ import annotations

import pytest

from bot.dispatch.limits import KeyedBuckets, OncePer, OutboundLimits, PacingConfig, TokenBucket, UserLimits
from tests.bot.dispatch_kit import Clock


def test_a_bucket_gives_its_burst_then_refills_at_its_rate():
    bucket = TokenBucket(rate=0.5, capacity=3, now=0.0)
    assert [bucket.try_take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_time(0.0) == pytest.approx(2.0)
    assert not bucket.try_take(1.9)
    assert bucket.try_take(2.0)
    assert bucket.is_full(100.0) and bucket.tokens == 3  # never above capacity


def test_reserving_on_credit_queues_callers_fairly():
    bucket = TokenBucket(rate=1.0, capacity=2, now=0.0)
    waits = [bucket.reserve(0.0) for _ in range(5)]
    assert waits == [0.0, 0.0, pytest.approx(1.0), pytest.approx(2.0), pytest.approx(3.0)]


def test_a_bucket_rejects_nonsense_settings():
    with pytest.raises(ValueError):
        TokenBucket(rate=0, capacity=1, now=0)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, capacity=0, now=0)


def test_keyed_buckets_stay_bounded():
    buckets = KeyedBuckets(rate=1, capacity=1, max_keys=100)
    for n in range(1000):
        buckets.get(f"user{n}", 0.0).try_take(0.0)
    assert len(buckets) <= 100


def test_user_limits_refuse_with_one_notice_per_streak():
    clock = Clock(0.0)
    limits = UserLimits(per_minute=6, burst=2, clock=clock)
    assert limits.check("alice", "ping", 0).allowed
    assert limits.check("alice", "ping", 0).allowed
    first = limits.check("alice", "ping", 0)
    assert (first.allowed, first.reason, first.notify) == (False, "rate", True)
    assert first.retry_after == pytest.approx(10.0)
    second = limits.check("alice", "ping", 0)
    assert not second.allowed and not second.notify
    clock.advance(10)
    assert limits.check("alice", "ping", 0).allowed
    clock.advance(0.1)
    again = limits.check("alice", "ping", 0)
    assert not again.allowed and again.notify  # a new streak gets a new (single) notice


def test_cooldowns_are_per_user_and_per_command():
    clock = Clock(0.0)
    limits = UserLimits(per_minute=0, burst=1, clock=clock)
    assert limits.check("alice", "roll", 5).allowed
    refused = limits.check("alice", "roll", 5)
    assert refused.reason == "cooldown" and refused.retry_after == pytest.approx(5.0)
    assert limits.check("alice", "flip", 5).allowed
    assert limits.check("bob", "roll", 5).allowed
    clock.advance(4.9)
    assert not limits.check("alice", "roll", 5).allowed
    clock.advance(0.1)
    assert limits.check("alice", "roll", 5).allowed


def test_a_refused_run_does_not_restart_the_cooldown():
    clock = Clock(0.0)
    limits = UserLimits(per_minute=0, burst=1, clock=clock)
    limits.check("alice", "roll", 5)
    clock.advance(3)
    limits.check("alice", "roll", 5)
    clock.advance(2)
    assert limits.check("alice", "roll", 5).allowed


def test_once_per_allows_one_per_interval_per_key():
    clock = Clock(0.0)
    once = OncePer(interval=60, clock=clock)
    assert once.allow("a") and not once.allow("a") and once.allow("b")
    clock.advance(59.9)
    assert not once.allow("a")
    clock.advance(0.1)
    assert once.allow("a")


def test_outbound_limits_spread_a_burst_over_time():
    clock = Clock(0.0)
    limits = OutboundLimits(PacingConfig(global_per_minute=60, chat_per_minute=30, burst=5, chat_burst=3), clock=clock)
    waits = [limits.reserve("chat-a") for _ in range(5)]
    # three at once into one chat, then one every 2 s (30 per minute)
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(2.0) and waits[4] == pytest.approx(4.0)
    # the global bucket (5 burst) is now spent: another chat waits for the global rate, 1 per second
    assert limits.reserve("chat-b") == pytest.approx(1.0)


def test_outbound_limits_off_never_wait():
    limits = OutboundLimits(PacingConfig(enabled=False), clock=Clock(0.0))
    assert all(limits.reserve("c") == 0.0 for _ in range(1000))


def test_pacing_config_reads_settings_and_zero_turns_pacing_off(settings):
    settings.OUTBOUND_PER_MINUTE = 30
    settings.OUTBOUND_CHAT_PER_MINUTE = 6
    settings.TYPING_SECONDS = 1.5
    config = PacingConfig.from_settings()
    assert (config.enabled, config.global_per_minute, config.chat_per_minute, config.typing_seconds) == (
        True,
        30,
        6,
        1.5,
    )
    settings.OUTBOUND_PER_MINUTE = 0
    assert not PacingConfig.from_settings().enabled
