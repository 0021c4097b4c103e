"""The bot child's runtime with the real neonize transport (only the dial stubbed): presence after the
connect, a call offer through the inbox to anti-call and its message out of the outbox, a status
update viewed by a dispatcher after its batch."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("neonize")

from neonize.utils.jid import build_jid  # noqa: E402

from bot.backoff import BackoffPolicy  # noqa: E402
from bot.child.connection import ConnectionMachine  # noqa: E402
from bot.child.runtime import BotRuntime  # noqa: E402
from bot.heartbeat import ChildExit  # noqa: E402
from bot.models import CallNotice, OutboxItem  # noqa: E402
from tests.bot.fixtures.neonize_events import deliver, device_jid, stub_dial_transport  # noqa: E402
from tests.bot.fixtures.neonize_presence import PresenceGo, make_call_offer_ev, make_status_ev  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SESSION = "presence_rt"


def wait_for(predicate, timeout: float = 10.0) -> None:
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        pause.wait(0.02)
    raise AssertionError("condition not reached in time")


def test_the_child_announces_presence_rejects_a_call_and_views_a_status(settings, tmp_path):
    settings.OWNER_NUMBERS = ["15550000001"]
    settings.REJECT_CALLS, settings.CALL_REJECT_MESSAGE = True, "Text me instead."
    settings.AUTO_STATUS_VIEW, settings.PRESENCE = True, "online"
    settings.OUTBOUND_PER_MINUTE, settings.TYPING_SECONDS = 0, 0
    transport = stub_dial_transport(session_name=SESSION, dsn=str(tmp_path / "never.sqlite3"))
    go = PresenceGo()
    transport.client._NewClient__client = go
    policy = BackoffPolicy(base=0.01, cap=0.05, max_attempts=5, jitter=lambda c: c)
    runtime = BotRuntime(transport=transport, session_name=SESSION, machine=ConnectionMachine(policy=policy))
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    try:
        wait_for(lambda: go.presences == [b"available"])
        deliver(transport.client, make_call_offer_ev(caller=device_jid("15557770001", 3), call_id="RT1"))
        deliver(transport.client, make_status_ev("sunset", sender=build_jid("15551230002"), msg_id="ST1"))
        wait_for(lambda: go.sent and go.reads)
    finally:
        runtime.request_stop()
        thread.join(15)
    assert out["code"] == ChildExit.DONE
    assert [(jid.User, call_id) for jid, call_id in go.rejected] == [("15557770001", "RT1")]
    ((to, message),) = go.sent
    assert (to.User, message.extendedTextMessage.text) == ("15557770001", "Text me instead.")
    assert [(ids, chat.User) for ids, chat, _sender, _receipt in go.reads] == [(["ST1"], "status")]
    assert list(OutboxItem.objects.filter(session_name=SESSION).values_list("state", flat=True)) == ["sent"]
    assert CallNotice.objects.get(session_name=SESSION).rejected == 1
    assert runtime.stats.counts_total()["call:rejected"] == 1
