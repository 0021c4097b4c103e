"""Memory thresholds with a fake sampler: shed at the soft limit, hard at 95 %, a restart budget."""

from __future__ import annotations

from bot.monitor import MemoryGuard, RestartBudget, rss_bytes

MB = 1024 * 1024


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard_with(samples: list[int], clock: FakeClock | None = None) -> MemoryGuard:
    values = iter(samples)
    return MemoryGuard(limit_mb=100, sampler=lambda: next(values), clock=clock or FakeClock())


def test_it_reports_ok_below_the_soft_limit_and_sheds_nothing() -> None:
    guard = guard_with([50 * MB])
    shed = []
    guard.register("cache", lambda: shed.append(1) or 1)
    reading = guard.check()
    assert reading.level == "ok"
    assert shed == []


def test_it_sheds_every_cache_at_the_soft_limit_and_logs_what_it_freed(caplog) -> None:
    guard = guard_with([85 * MB, 60 * MB])
    guard.register("media_lru", lambda: 12)
    guard.register("group_cache", lambda: 3)
    reading = guard.check()
    assert reading.level == "soft"
    assert reading.rss == 60 * MB
    assert reading.freed["media_lru"] == 12 and reading.freed["group_cache"] == 3
    assert "gc_objects" in reading.freed
    lines = [r for r in caplog.records if "soft limit" in r.getMessage()]
    assert len(lines) == 1 and lines[0].freed_media_lru == 12


def test_it_does_not_shed_again_within_the_interval() -> None:
    clock = FakeClock()
    guard = guard_with([85 * MB, 84 * MB, 86 * MB, 86 * MB, 80 * MB], clock)
    calls = []
    guard.register("cache", lambda: calls.append(1) or 1)
    guard.check()
    clock.now += 10
    assert guard.check().level == "soft"
    assert len(calls) == 1
    clock.now += 400
    guard.check()
    assert len(calls) == 2


def test_it_reports_hard_at_ninety_five_percent() -> None:
    assert guard_with([96 * MB]).check().level == "hard"


def test_shedding_that_does_not_help_ends_hard() -> None:
    guard = guard_with([90 * MB, 97 * MB])
    assert guard.check().level == "hard"


def test_a_broken_shedder_does_not_stop_the_others() -> None:
    guard = guard_with([85 * MB, 70 * MB])
    guard.register("broken", lambda: 1 / 0)
    guard.register("ok", lambda: 5)
    reading = guard.check()
    assert reading.freed["ok"] == 5
    assert "broken" not in reading.freed


def test_the_restart_budget_refuses_past_its_limit_and_refills_with_time() -> None:
    clock = FakeClock()
    budget = RestartBudget(limit=3, window=600, clock=clock)
    assert [budget.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += 601
    assert budget.allow()
    assert budget.used == 1


def test_rss_is_read_from_the_process() -> None:
    assert 5 * MB < rss_bytes() < 4096 * MB


def test_the_runtime_registers_every_rebuildable_cache_with_the_guard(db) -> None:
    """At the soft limit the child drops the media LRU, the group cache and idle command modules."""
    from bot.dispatch import build_router
    from bot.runtime import BotRuntime
    from bot.transport.memory import MemoryTransport
    from media_cdn import resolver

    transport = MemoryTransport()
    router = build_router(transport=transport, session_name="mem")
    guard = guard_with([85 * MB, 50 * MB])
    BotRuntime(transport=transport, session_name="mem", router=router, memory_guard=guard)
    assert {"media_lru", "group_cache", "command_modules"} <= set(guard._shedders)
    resolver.resolver_reset()
    media = resolver.default_resolver()
    media.memory.put(("hug", "mp4"), object(), 1000)
    reading = guard.check()
    assert reading.freed["media_lru"] == 1000
    assert media.memory.total_bytes == 0
