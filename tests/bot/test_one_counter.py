"""The child's runtime and the project's router share one counter: each message is counted once."""

from __future__ import annotations

import threading

import pytest

from bot.backoff import BackoffPolicy
from bot.child.connection import ConnectionMachine
from bot.child.runtime import BotRuntime
from bot.dispatch.limits import PacingConfig
from bot.models import MessageStat
from bot.transport.base import IncomingMessage
from tests.support.memory_transport import MemoryTransport

pytestmark = pytest.mark.django_db(transaction=True)

USER = "15551234567@s.whatsapp.net"


def test_a_message_through_the_real_router_is_counted_once(settings, monkeypatch):
    monkeypatch.setattr(PacingConfig, "from_settings", classmethod(lambda cls: PacingConfig(enabled=False)))
    transport = MemoryTransport()
    runtime = BotRuntime(
        transport=transport,
        session_name="once",
        machine=ConnectionMachine(policy=BackoffPolicy(base=0.01, cap=0.05, jitter=lambda c: c)),
    )
    assert runtime.router.stats is runtime.stats and runtime.router_counts
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    for _ in range(500):
        if transport.connected:
            break
        threading.Event().wait(0.01)
    transport.deliver(IncomingMessage(id="O1", chat=USER, sender=USER, text=".ping"))
    transport.deliver(IncomingMessage(id="O2", chat=USER, sender=USER, text="just chatting"))
    for _ in range(500):
        if transport.sent:
            break
        threading.Event().wait(0.01)
    runtime.request_stop()
    thread.join(10)
    totals = runtime.stats.totals
    assert (totals.messages_in, totals.commands, totals.messages_out) == (2, 1, 1)
    row = MessageStat.objects.get(session_name="once")
    assert (row.messages_in, row.commands, row.by_command) == (2, 1, {"ping": 1})
