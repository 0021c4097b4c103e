"""The neonize side of liveness: the round trip (a user-info query about our own account) and the
signs of the primary phone, with real neonize protobuf events delivered as Go delivers them."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("neonize")

from neonize.events import ReceiptEv  # noqa: E402
from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.proto.Neonize_pb2 import MessageSource  # noqa: E402

from bot.transport.base import LivenessPong, PrimarySeen  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from tests.bot.fixtures.neonize_events import ALICE, EMPTY, FakeGo, device_jid, make_msg_ev  # noqa: E402
from tests.bot.fixtures.neonize_events import deliver as deliver_to_client  # noqa: E402

OWN = "15550001234"


@pytest.fixture
def transport(tmp_path):
    transport = NeonizeTransport(session_name="lv", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client.me = N.Device(JID=device_jid(OWN, 12))
    transport.fake = FakeGo()
    transport.client._NewClient__client = transport.fake
    transport.seen = []
    transport.set_handlers(on_message=lambda m: None, on_signal=lambda s: None, on_liveness=transport.seen.append)
    return transport


def wait(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def test_a_probe_asks_whatsapp_about_our_own_number_and_the_answer_comes_back_as_a_pong(transport):
    assert transport.supports_liveness
    transport.probe("t1")
    wait(lambda: transport.seen)
    [pong] = transport.seen
    assert isinstance(pong, LivenessPong) and pong.token == "t1" and pong.primary_linked is True
    [[asked]] = transport.fake.user_info_requests
    assert (asked.User, asked.Device, asked.Server) == (OWN, 0, "s.whatsapp.net")  # the account, not our device


def test_an_account_whose_device_list_lacks_device_0_is_answered_as_primary_not_linked(transport):
    transport.fake.devices = [12]
    transport.probe("t2")
    wait(lambda: transport.seen)
    assert transport.seen[0].primary_linked is False


def test_an_error_answer_is_no_pong(transport):
    transport.fake.user_info_error = "info query timed out"
    transport.probe("t3")
    wait(lambda: transport.fake.user_info_requests)
    transport.flush()
    time.sleep(0.1)
    assert transport.seen == []


def test_a_query_hanging_in_go_blocks_no_caller_and_never_gets_a_second_thread(transport):
    transport.fake.user_info_gate = threading.Event()
    started = time.monotonic()
    transport.probe("t4")
    transport.probe("t5")  # the first still waits: not asked again
    assert time.monotonic() - started < 0.5
    wait(lambda: transport.fake.user_info_requests)
    assert len(transport.fake.user_info_requests) == 1
    transport.fake.user_info_gate.set()
    wait(lambda: transport.seen)
    assert [p.token for p in transport.seen] == ["t4"]


def test_a_message_typed_on_the_primary_phone_and_its_receipts_are_signs_of_the_phone(transport):
    own_phone = device_jid(OWN, 0)
    deliver_to_client(transport.client, make_msg_ev("hi", chat=ALICE, sender=own_phone, from_me=True, msg_id="P1"))
    assert transport.flush()
    assert [(type(s), s.how) for s in transport.seen] == [(PrimarySeen, "message")]

    transport._primary_seen_at = -1e9  # a minute later
    receipt = ReceiptEv(
        MessageSource=MessageSource(
            Chat=ALICE, Sender=own_phone, IsFromMe=True, SenderAlt=EMPTY, RecipientAlt=EMPTY, BroadcastListOwner=EMPTY
        ),
        MessageIDs=["X1"],
        Timestamp=int(time.time()),
        Type=ReceiptEv.ReceiptType.READ_SELF,
    )
    deliver_to_client(transport.client, receipt)
    assert transport.flush()
    assert [s.how for s in transport.seen] == ["message", "receipt"]


def test_our_own_companion_device_and_other_people_are_not_the_phone(transport):
    deliver_to_client(transport.client, make_msg_ev("x", sender=device_jid(OWN, 12), from_me=True, msg_id="C1"))
    deliver_to_client(transport.client, make_msg_ev("y", sender=ALICE, msg_id="A1"))
    assert transport.flush()
    assert transport.seen == []


def test_signs_of_the_phone_are_handed_on_at_most_once_a_minute(transport):
    own_phone = device_jid(OWN, 0)
    for n in range(20):
        deliver_to_client(transport.client, make_msg_ev("z", sender=own_phone, from_me=True, msg_id=f"Z{n}"))
    assert transport.flush()
    assert len(transport.seen) == 1
