"""The child's session hooks: a connection sets the admin's "last connected at", from the runtime."""

from __future__ import annotations

import threading

import pytest

from bot.backoff import BackoffPolicy
from bot.child.connection import ConnectionMachine
from bot.child.runtime import BotRuntime
from bot.child.session_hooks import SessionHooks
from bot.heartbeat import ChildExit
from sessions_store.models import WhatsAppSession
from tests.support.memory_transport import MemoryTransport
from tests.support.routers import PingRouter

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_connection_records_last_connected_at_on_the_session_row():
    WhatsAppSession.objects.create(name="hooked")
    hooks = SessionHooks(session_name="hooked")
    transport = MemoryTransport()
    runtime = BotRuntime(
        transport=transport,
        session_name="hooked",
        router=PingRouter(),
        machine=ConnectionMachine(policy=BackoffPolicy(base=0.01, cap=0.05, jitter=lambda c: c)),
        on_connected=hooks.on_connected,
    )
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    connected = threading.Event()
    for _ in range(500):
        if WhatsAppSession.objects.get(name="hooked").last_connected_at is not None:
            connected.set()
            break
        threading.Event().wait(0.01)
    runtime.request_stop()
    thread.join(10)
    assert out["code"] == ChildExit.DONE
    assert connected.is_set(), "the CONNECTED transition never reached session_mark_connected"


def test_the_hook_without_a_session_row_writes_nothing():
    SessionHooks(session_name="nobody").on_connected(None)  # type: ignore[arg-type]
    assert not WhatsAppSession.objects.filter(name="nobody").exists()
