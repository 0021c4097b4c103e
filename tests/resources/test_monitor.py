"""Memory thresholds with a fake sampler: shed at the soft limit, hard at 95 %, a restart budget."""

from __future__ import annotations

import pytest

from bot.child.memory import MemoryGuard, rss_bytes
from bot.supervisor.budget import RestartBudget

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
    from bot.child.runtime import BotRuntime
    from bot.dispatch import build_router
    from media_cdn import resolver
    from tests.support.memory_transport import MemoryTransport

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


@pytest.mark.django_db(transaction=True)
def test_over_the_hard_limit_the_child_drains_every_accepted_message_then_exits_for_a_memory_restart() -> None:
    import threading

    from bot.child.runtime import BotRuntime
    from bot.heartbeat import ChildExit
    from bot.transport.base import IncomingMessage
    from tests.support.memory_transport import MemoryTransport
    from tests.support.routers import PingRouter

    level = {"rss": 10 * MB}
    guard = MemoryGuard(limit_mb=100, sampler=lambda: level["rss"])
    transport = MemoryTransport()
    runtime = BotRuntime(
        transport=transport, session_name="memhard", router=PingRouter(), memory_guard=guard, heartbeat_interval=0.02
    )
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    done = threading.Event()
    while not transport.connected:
        done.wait(0.01)
    user = "15551234567@s.whatsapp.net"
    for n in range(50):
        transport.deliver(IncomingMessage(id=f"H{n}", chat=user, sender=user, text=".ping"))
    level["rss"] = 97 * MB  # over 95 %: the next heartbeat asks for a graceful restart
    thread.join(15)
    assert out["code"] == ChildExit.MEMORY
    accepted = 50 - runtime.dropped
    assert len(transport.sent) == accepted == 50  # drained: no accepted message lost its reply


@pytest.mark.django_db
def test_a_memory_exit_is_a_restart_recorded_with_reason_memory_and_it_spends_the_budget() -> None:
    from bot.backoff import BackoffPolicy
    from bot.heartbeat import ChildExit
    from bot.models import ReconnectEvent
    from bot.supervisor.loop import Child, Supervisor
    from tests.bot.test_supervisor_policy import Clock, FakeProcess, FakeReader, NoOwnership

    clock = Clock()
    sup = Supervisor(
        session_name="memsup",
        transport="console",
        scheduler=False,
        backoff=BackoffPolicy(base=1.0, cap=8.0, max_attempts=2, jitter=lambda c: c),
        budget=RestartBudget(limit=2, window=600, clock=clock),
        ownership=NoOwnership(),
        clock=clock,
    )
    for _ in range(3):
        sup.child = Child(FakeProcess(), FakeReader(clock), clock())
        sup.on_child_exit(ChildExit.MEMORY)
    reasons = list(ReconnectEvent.objects.filter(session_name="memsup").order_by("id").values_list("reason", "outcome"))
    assert reasons == [("child_memory", "failed"), ("child_memory", "failed"), ("child_memory", "gave_up")]
    assert sup._stop.is_set() and sup.exit_code == 1
