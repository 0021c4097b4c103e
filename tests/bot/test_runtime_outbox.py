"""The runtime with the outbox: handlers never wait for pacing, a stop leaves what was not sent queued (and
says so), the next runtime sends it, a redelivered message is not handled twice, and the console's end
of input waits for its outbox."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from bot import outbox
from bot.child.runtime import BotRuntime
from bot.heartbeat import ChildExit
from bot.models import HandledMessage, OutboxItem
from bot.transport.base import IncomingMessage
from bot.transport.console import ConsoleTransport
from tests.support.memory_transport import MemoryTransport

pytestmark = pytest.mark.django_db(transaction=True)

OWNER = "15551234567"
USER = f"{OWNER}@s.whatsapp.net"
Q = OutboxItem.State


@pytest.fixture(autouse=True)
def _paced(settings):
    settings.OWNER_NUMBERS = [OWNER]  # owners skip per-user limits and cooldowns: pacing alone decides
    settings.OUTBOUND_PER_MINUTE = 40
    settings.OUTBOUND_CHAT_PER_MINUTE = 12
    settings.TYPING_SECONDS = 0.2


def wait_for(predicate, timeout: float = 10.0) -> None:
    event = threading.Event()
    left = timeout
    while not predicate():
        if left <= 0:
            raise AssertionError("condition not reached in time")
        event.wait(0.02)
        left -= 0.02


def start(runtime: BotRuntime) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    return thread, out


def ping(n: int) -> IncomingMessage:
    return IncomingMessage(id=f"P{n:03d}", chat=USER, sender=USER, text=".ping")


def stopped_line(caplog) -> logging.LogRecord:
    [record] = [r for r in caplog.records if r.getMessage() == "bot child stopped"]
    return record


def test_handlers_return_before_pacing_and_a_stop_leaves_the_rest_queued_then_the_next_runtime_sends_it(
    caplog, settings
):
    caplog.set_level(logging.INFO, logger="bot.child.runtime")
    transport = MemoryTransport()
    runtime = BotRuntime(transport=transport, session_name="ob1", drain_timeout=1.0)
    thread, out = start(runtime)
    wait_for(lambda: transport.connected)
    for n in range(10):
        transport.deliver(ping(n))
    # all ten handled and queued while pacing (3 at once, then one per 5 s in a chat) has sent a few
    # (read through bot.outbox while the runtime's threads write: on SQLite they take turns there)
    wait_for(lambda: sum(outbox.outbox_counts(session_name="ob1").values()) == 10)
    assert len(transport.sent) < 10
    runtime.request_stop()
    thread.join(15)
    assert out["code"] == ChildExit.DONE

    rows = dict(OutboxItem.objects.filter(session_name="ob1").values_list("answers", "state"))
    assert sorted(rows) == [f"P{n:03d}" for n in range(10)]  # every reply is in the table: none lost
    sent = [a for a, state in rows.items() if state == Q.SENT]
    queued = [a for a, state in rows.items() if state == Q.QUEUED]
    assert len(sent) + len(queued) == 10 and queued
    assert sorted(r.reply_to for r in transport.sent) == sorted(sent)
    line = stopped_line(caplog)
    assert (line.outbox_sent, line.outbox_queued, line.outbox_failed, line.outbox_expired) == (
        len(sent),
        len(queued),
        0,
        0,
    )

    settings.OUTBOUND_CHAT_PER_MINUTE = 6000  # the next owner: fast, so the test does not wait on pacing
    settings.OUTBOUND_PER_MINUTE = 6000
    settings.TYPING_SECONDS = 0
    transport2 = MemoryTransport()
    runtime2 = BotRuntime(transport=transport2, session_name="ob1", drain_timeout=1.0)
    thread2, _ = start(runtime2)
    wait_for(lambda: len(transport2.sent) == len(queued))
    transport2.deliver(ping(0))  # WhatsApp redelivers one the first runtime answered
    transport2.deliver(IncomingMessage(id="NEW", chat=USER, sender=USER, text=".ping"))
    wait_for(lambda: any(r.reply_to == "NEW" for r in transport2.sent))
    runtime2.request_stop()
    thread2.join(15)
    assert sorted(r.reply_to for r in transport2.sent) == sorted([*queued, "NEW"])  # P000 not answered twice
    assert OutboxItem.objects.filter(session_name="ob1").exclude(state=Q.SENT).count() == 0
    assert HandledMessage.objects.filter(session_name="ob1").count() == 11


def test_a_message_with_no_answer_is_not_recorded_as_handled():
    transport = MemoryTransport()
    runtime = BotRuntime(transport=transport, session_name="ob2", drain_timeout=0.5)
    thread, _ = start(runtime)
    wait_for(lambda: transport.connected)
    transport.deliver(IncomingMessage(id="CHAT1", chat=USER, sender=USER, text="just talking"))
    transport.deliver(ping(1))
    wait_for(lambda: len(transport.sent) == 1)
    runtime.request_stop()
    thread.join(10)
    assert list(HandledMessage.objects.values_list("message_id", flat=True)) == ["P001"]


def test_console_end_of_input_waits_until_its_outbox_is_empty_then_exits_0(settings):
    settings.OUTBOUND_PER_MINUTE = 600  # 10 a second after a burst of 5: 18 replies take ~1.5 s
    settings.OUTBOUND_CHAT_PER_MINUTE = 600
    lines = [json.dumps({"sender": f"1888{n:07d}", "text": ".ping"}) for n in range(18)]
    stdout = io.StringIO()
    transport = ConsoleTransport(stdin=io.StringIO("\n".join(lines) + "\n"), stdout=stdout)
    runtime = BotRuntime(transport=transport, session_name="ob3", drain_timeout=0.2)  # far less than the sending
    code = runtime.run()
    assert code == ChildExit.DONE
    printed = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert len(printed) == 18 and {p["chat"] for p in printed} == {f"1888{n:07d}@s.whatsapp.net" for n in range(18)}
    assert set(OutboxItem.objects.filter(session_name="ob3").values_list("state", flat=True)) == {Q.SENT}
