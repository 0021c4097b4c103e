"""Liveness: a round trip through WhatsApp while connected; a deaf connection is restarted, then alerted.

The books (``LivenessWatch``) on a hand-driven clock; the runtime through the transport seam with an
in-memory transport that answers, stops answering while "connected", and answers again.
"""

from __future__ import annotations

import threading

import pytest

from bot.child.liveness import LivenessConfig, LivenessWatch
from bot.child.runtime import BotRuntime
from bot.heartbeat import ChildExit
from bot.models import ConnectionEvent, OutboxItem
from tests.bot.test_runtime import machine, start, wait_for
from tests.support.memory_transport import MemoryTransport
from tests.support.routers import PingRouter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def watch(**overrides: float) -> tuple[LivenessWatch, Clock]:
    clock = Clock()
    config = LivenessConfig(**{"interval": 900.0, "timeout": 30.0, "failures": 3, "after_connect": 10.0, **overrides})
    return LivenessWatch(config, clock=clock, wall=lambda: clock.now + 1_700_000_000), clock


def test_no_question_before_the_socket_is_connected_and_the_first_one_soon_after():
    books, clock = watch()
    assert books.tick() is None
    books.connected()
    clock.now += 9.9
    assert books.tick() is None
    clock.now += 0.2
    step = books.tick()
    assert step.action == "probe" and len(step.token) == 16 and books.sent == 1
    assert books.tick() is None  # one question at a time


def test_an_answer_clears_the_count_and_the_next_question_waits_an_interval():
    books, clock = watch()
    books.connected()
    clock.now += 10
    token = books.tick().token
    clock.now += 0.25
    assert books.pong(token) is True
    assert books.rtt_ms == 250.0 and books.failures == 0 and books.last_ok_at == clock.now + 1_700_000_000
    clock.now += 899
    assert books.tick() is None
    clock.now += 1
    assert books.tick().action == "probe"


def test_three_unanswered_questions_in_a_row_make_the_connection_deaf_after_three_timeouts():
    books, clock = watch()
    books.connected()
    clock.now += 10
    tokens = [books.tick().token]
    for failures in (1, 2):
        clock.now += 30
        step = books.tick()  # the overdue question is counted and a new one asked at once
        assert step.action == "probe" and books.failures == failures
        tokens.append(step.token)
    clock.now += 29.9
    assert books.tick() is None
    clock.now += 0.1
    verdict = books.tick()
    assert verdict.action == "deaf" and verdict.failures == 3
    assert books.unanswered == 3 and books.sent == 3 and len(set(tokens)) == 3


def test_a_late_answer_to_a_recent_question_still_proves_the_path_and_a_stranger_s_does_not():
    books, clock = watch()
    books.connected()
    clock.now += 10
    first = books.tick().token
    clock.now += 31
    books.tick()  # the first question is counted unanswered, a second asked
    assert books.failures == 1
    assert books.pong("not-ours") is False and books.failures == 1
    assert books.pong(first) is True and books.failures == 0


def test_a_reconnect_starts_a_clean_count_and_a_disconnect_asks_nothing():
    books, clock = watch(failures=2)
    books.connected()
    clock.now += 10
    books.tick()
    clock.now += 30
    books.tick()
    assert books.failures == 1
    books.disconnected()
    clock.now += 5000
    assert books.tick() is None
    books.connected()
    assert books.failures == 0


def test_hold_restarts_the_timeout_of_the_question_in_flight():
    books, clock = watch(failures=1)
    books.connected()
    clock.now += 10
    books.tick()
    clock.now += 29
    books.hold()  # e.g. the database is away and the answer waits behind it in a dispatcher
    clock.now += 29
    assert books.tick() is None
    clock.now += 2
    assert books.tick().action == "deaf"


# -- the runtime, through the seam ----------------------------------------------------------------------
class Listening(MemoryTransport):
    supports_liveness = True


def fast_watch(restarts: bool = True) -> LivenessWatch:
    return LivenessWatch(LivenessConfig(interval=0.3, timeout=0.3, failures=3, after_connect=0.05, restarts=restarts))


pytestmark = pytest.mark.django_db(transaction=True)


def runtime_for(transport: MemoryTransport, session: str, *, restarts: bool = True) -> BotRuntime:
    return BotRuntime(
        transport=transport,
        session_name=session,
        router=PingRouter(),
        machine=machine(),
        liveness=fast_watch(restarts),
        heartbeat_interval=0.05,
    )


def test_a_connection_that_stops_answering_is_restarted_as_deaf_and_the_owners_are_told(settings):
    settings.OWNER_NUMBERS = ["15550001111"]
    transport = Listening()
    runtime = runtime_for(transport, "lv1")
    thread, out = start(runtime)
    wait_for(lambda: runtime.liveness.answered >= 2)  # it answers: nothing happens
    assert runtime.exit_code is None
    transport.answer_probes(False)
    thread.join(10)
    assert out["code"] == ChildExit.DEAF
    assert runtime.liveness.unanswered == 3
    stopped = ConnectionEvent.objects.filter(session_name="lv1", to_state="stopped").get()
    assert stopped.reason == "deaf"
    [notice] = OutboxItem.objects.filter(session_name="lv1", chat="15550001111@s.whatsapp.net")
    assert "stopped answering" in notice.content["text"]


def test_in_alert_mode_a_deaf_connection_is_kept_alerted_once_and_heard_again(settings):
    settings.OWNER_NUMBERS = ["15550001111"]
    transport = Listening()
    transport.answer_probes(False)
    runtime = runtime_for(transport, "lv2", restarts=False)
    thread, out = start(runtime)
    wait_for(lambda: runtime.liveness.unanswered >= 7, timeout=10)  # two full rounds of three and more
    assert runtime.exit_code is None and runtime.liveness.deaf_reported
    assert OutboxItem.objects.filter(session_name="lv2").count() == 1  # one alert, not one per round
    transport.answer_probes(True)
    wait_for(lambda: runtime.liveness.failures == 0 and runtime.liveness.answered >= 1, timeout=10)
    assert not runtime.liveness.deaf_reported
    snapshot = runtime.beat().detail
    assert snapshot["liveness_answered"] >= 1 and 0 <= snapshot["liveness_ok_ago"] < 5
    runtime.request_stop()
    thread.join(10)
    assert out["code"] == ChildExit.DONE


def test_a_transport_without_a_round_trip_is_never_judged_deaf():
    transport = MemoryTransport()  # supports_liveness is False: the console, the memory double
    runtime = runtime_for(transport, "lv3")
    assert runtime.liveness is None
    thread, out = start(runtime)
    threading.Event().wait(1.0)
    assert runtime.exit_code is None and transport.probes == []
    runtime.request_stop()
    thread.join(10)
    assert "liveness_failures" not in runtime.beat().detail
