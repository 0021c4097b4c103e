"""The neonize transport: real protobuf events through neonize's own dispatch, sends through a fake
Go FFI, and a real offline ``connect()`` whose failures drive the reconnect path."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from datetime import UTC, datetime

import pytest

pytest.importorskip("neonize")

from neonize.events import (  # noqa: E402
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    GroupInfoEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    PairStatusEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (  # noqa: E402
    ButtonsResponseMessage,
    ExtendedTextMessage,
    FutureProofMessage,
    ImageMessage,
    Message,
)

from bot.backoff import BackoffPolicy  # noqa: E402
from bot.child.connection import ConnectionMachine  # noqa: E402
from bot.child.runtime import BotRuntime  # noqa: E402
from bot.heartbeat import ChildExit  # noqa: E402
from bot.models import ReconnectEvent  # noqa: E402
from bot.transport.base import ConnectionSignal, Media, Reply, TransportError  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from bot.transport.neonize.translate import str_to_jid  # noqa: E402
from tests.bot.fixtures.neonize_events import (  # noqa: E402
    ALICE,
    ALICE_LID,
    EMPTY,
    GROUP,
    FakeGo,
    device_jid,
    make_msg_ev,
)
from tests.bot.fixtures.neonize_events import deliver as deliver_to_client  # noqa: E402
from tests.support.routers import PingRouter  # noqa: E402

CLOSED_PORT_PROXY = "http://127.0.0.1:9"


def deliver(client, ev) -> None:
    """As Go does it, then wait for the transport's translator thread to hand the result on."""
    deliver_to_client(client, ev)
    assert client.transport.flush()


class Captured:
    def __init__(self, transport: NeonizeTransport) -> None:
        self.messages: list = []
        self.signals: list[ConnectionSignal] = []
        self.groups: list = []
        transport.set_handlers(
            on_message=self.messages.append, on_signal=self.signals.append, on_group_change=self.groups.append
        )


@pytest.fixture
def transport(tmp_path) -> NeonizeTransport:
    transport = NeonizeTransport(session_name="fixture", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client.transport = transport  # lets deliver() wait for the translator thread
    return transport


@pytest.fixture
def captured(transport) -> Captured:
    return Captured(transport)


CONNECTION_EVENTS = [
    (ConnectedEv(status=True), "connected", "", {}),
    (DisconnectedEv(status=True), "disconnected", "", {}),
    (KeepAliveTimeoutEv(ErrorCount=2, LastSuccess=1764331200), "keepalive_timeout", "", {"error_count": 2}),
    (KeepAliveRestoredEv(), "keepalive_restored", "", {}),
    (
        LoggedOutEv(OnConnect=True, Reason=N.ConnectFailureReason.LOGGED_OUT),
        "logged_out",
        "logged_out",
        {"on_connect": True},
    ),
    (
        LoggedOutEv(OnConnect=False, Reason=N.ConnectFailureReason.MAIN_DEVICE_GONE),
        "logged_out",
        "main_device_gone",
        {},
    ),
    (StreamReplacedEv(), "stream_replaced", "", {}),
    (
        TemporaryBanEv(Code=TemporaryBanEv.TempBanReason.BLOCKED_BY_USERS, Expire=3600),
        "temporary_ban",
        "blocked_by_users",
        {"expire_seconds": 3600},
    ),
    (
        ConnectFailureEv(Reason=N.ConnectFailureReason.SERVICE_UNAVAILABLE, Message="try later"),
        "connect_failure",
        "service_unavailable",
        {"message": "try later"},
    ),
    (
        ConnectFailureEv(Reason=N.ConnectFailureReason.CLIENT_OUTDATED, Message=""),
        "connect_failure",
        "client_outdated",
        {},
    ),
    (ClientOutdatedEv(), "client_outdated", "", {}),
    (StreamErrorEv(Code="515"), "stream_error", "515", {}),
    (
        PairStatusEv(
            ID=device_jid("15550001111", 12),
            BusinessName="Shop",
            Platform="android",
            Status=PairStatusEv.PStatus.SUCCESS,
            Error="",
        ),
        "pair_success",
        "",
        {"jid": "15550001111:12@s.whatsapp.net", "business_name": "Shop"},
    ),
    (PairStatusEv(Status=PairStatusEv.PStatus.ERROR, Error="bad"), "pair_error", "pair_error", {"error": "bad"}),
]


@pytest.mark.parametrize(
    ("ev", "kind", "reason", "detail"),
    CONNECTION_EVENTS,
    ids=lambda v: getattr(v, "DESCRIPTOR", None) and v.DESCRIPTOR.name,
)
def test_every_connection_event_is_translated(transport, captured, ev, kind, reason, detail):
    deliver(transport.client, ev)
    [signal] = captured.signals
    assert (signal.kind, signal.reason) == (kind, reason)
    assert detail.items() <= signal.detail.items()


def test_a_lid_sender_gets_its_phone_through_sender_alt_and_the_timestamp_is_read_as_ms(transport, captured):
    ev = make_msg_ev(
        ".ping",
        chat=GROUP,
        sender=device_jid("98765432109876", 3, "lid"),
        sender_alt=device_jid("15551234567", 3),
        timestamp_ms=1764331200123,
    )
    deliver(transport.client, ev)
    [m] = captured.messages
    assert (m.chat, m.sender, m.sender_alt) == (
        "120363012345678901@g.us",
        "98765432109876@lid",
        "15551234567@s.whatsapp.net",
    )
    assert m.sender_phone == "15551234567"
    assert m.timestamp == datetime(2025, 11, 28, 12, 0, 0, 123000, tzinfo=UTC)
    assert m.is_group and not m.from_me and m.push_name == "Alice"
    assert (m.text, m.kind, m.id) == (".ping", "text", "3EB0TEST")


def test_mentions_and_the_quoted_id_and_sender_are_read(transport, captured):
    original = make_msg_ev("hello", chat=GROUP, sender=ALICE, msg_id="ORIG1")
    ev = make_msg_ev(
        ".hug @98765432109876",
        chat=GROUP,
        sender=device_jid("15550002222", 7),
        msg_id="M2",
        mentions=("98765432109876@lid",),
        quoted=original,
    )
    deliver(transport.client, ev)
    [m] = captured.messages
    assert m.sender == "15550002222@s.whatsapp.net"  # device stripped
    assert m.mentions == ("98765432109876@lid",)
    assert (m.quoted_id, m.quoted_sender) == ("ORIG1", "15551234567@s.whatsapp.net")
    assert m.sender_alt == ""


@pytest.mark.parametrize(
    ("content", "text", "kind"),
    [
        (Message(imageMessage=ImageMessage(caption=".sticker now")), ".sticker now", "image"),
        (Message(ephemeralMessage=FutureProofMessage(message=Message(conversation=".menu"))), ".menu", "text"),
        (
            Message(viewOnceMessageV2=FutureProofMessage(message=Message(imageMessage=ImageMessage(caption="secret")))),
            "secret",
            "image",
        ),
        (
            Message(
                ephemeralMessage=FutureProofMessage(
                    message=Message(extendedTextMessage=ExtendedTextMessage(text=".help"))
                )
            ),
            ".help",
            "text",
        ),
        (Message(buttonsResponseMessage=ButtonsResponseMessage(selectedDisplayText="Yes")), "Yes", "other"),
        (
            Message(
                documentWithCaptionMessage=FutureProofMessage(message=Message(documentMessage={"caption": "report"}))
            ),
            "report",
            "document",
        ),
    ],
)
def test_text_comes_from_every_message_kind(transport, captured, content, text, kind):
    ev = make_msg_ev("x")
    ev.Message.Clear()
    ev.Message.CopyFrom(content)
    deliver(transport.client, ev)
    [m] = captured.messages
    assert (m.text, m.kind) == (text, kind)


def test_group_events_become_group_changes(transport, captured):
    ev = GroupInfoEv(
        JID=GROUP, Sender=ALICE, Timestamp=1764331200, Join=[ALICE_LID], Promote=[device_jid("15550002222", 0)]
    )
    ev.Name.Name = "Book club"
    deliver(transport.client, ev)
    [change] = captured.groups
    assert change.chat == "120363012345678901@g.us" and change.actor == "15551234567@s.whatsapp.net"
    assert change.joined == ("98765432109876@lid",) and change.promoted == ("15550002222@s.whatsapp.net",)
    assert change.name == "Book club" and change.topic is None


def test_a_handler_that_raises_never_reaches_go(transport, caplog):
    def broken(message):
        raise RuntimeError("bug in the queue")

    transport.set_handlers(on_message=broken, on_signal=lambda s: None)
    with caplog.at_level(logging.ERROR, logger="bot.transport.neonize.client"):
        deliver(transport.client, make_msg_ev("hi"))
    assert "translating an event failed" in caplog.text


def test_the_qr_hook_becomes_a_qr_signal_with_its_code(transport, captured):
    transport.client.event._qr(transport.client, b"2@abc,def")
    transport.client.event._qr(transport.client, b"2@ghi,jkl")
    first, second = captured.signals
    assert first.kind == "qr" and first.detail == {"code": "2@abc,def", "valid_for": 60.0}
    assert second.detail == {"code": "2@ghi,jkl", "valid_for": 20.0}


def test_with_a_pair_phone_the_first_qr_asks_for_a_phone_code_once(tmp_path):
    transport = NeonizeTransport(session_name="phone", dsn=str(tmp_path / "p.sqlite3"), pair_phone="15551234567")
    fake = FakeGo()
    transport.client._NewClient__client = fake
    got_code = threading.Event()
    signals: list[ConnectionSignal] = []

    def on_signal(signal: ConnectionSignal) -> None:
        signals.append(signal)
        if signal.kind == "pair_code":
            got_code.set()

    transport.set_handlers(on_message=lambda m: None, on_signal=on_signal)
    transport.client.event._qr(transport.client, b"2@first")
    assert got_code.wait(5)
    transport.client.event._qr(transport.client, b"2@second")
    assert fake.pair_requests == ["15551234567"]
    assert [s.detail.get("code") for s in signals if s.kind == "pair_code"] == ["ABCD-1234"]


# -- sending through the fake FFI --------------------------------------------------------------------
def test_a_text_reply_quotes_the_message_and_carries_its_mentions(transport, captured):
    fake = FakeGo()
    transport.client._NewClient__client = fake
    deliver(transport.client, make_msg_ev(".ping", chat=GROUP, sender=ALICE, msg_id="Q1"))
    result = transport.send(Reply(kind="text", chat="120363012345678901@g.us", text="pong @15551234567", reply_to="Q1"))
    [(to, message)] = fake.sent
    assert result.id == "3EB0OUT0001"
    assert (to.User, to.Server) == ("120363012345678901", "g.us")
    context = message.extendedTextMessage.contextInfo
    assert message.extendedTextMessage.text == "pong @15551234567"
    assert (context.stanzaID, context.participant) == ("Q1", "15551234567@s.whatsapp.net")
    assert context.quotedMessage.conversation == ".ping"
    assert list(context.mentionedJID) == ["15551234567@s.whatsapp.net"]


def test_a_gif_goes_out_as_an_uploaded_looping_video_without_ffprobe(transport, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no ffmpeg/ffprobe to lean on
    fake = FakeGo()
    transport.client._NewClient__client = fake
    media = Media(
        data=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100,
        mimetype="video/mp4",
        duration_seconds=2.4,
        width=320,
        height=240,
        thumbnail_jpeg=b"\xff\xd8thumb",
    )
    transport.send(
        Reply(
            kind="video", chat="15551234567@s.whatsapp.net", text="*hugs*", asset="hug", media=media, gif_playback=True
        )
    )
    [(data, _media_type)] = fake.uploads
    assert data == media.data
    [(_to, message)] = fake.sent
    video = message.videoMessage
    assert video.gifPlayback and video.caption == "*hugs*" and video.mimetype == "video/mp4"
    assert (video.seconds, video.width, video.height, video.fileLength) == (3, 320, 240, len(media.data))
    assert video.JPEGThumbnail == b"\xff\xd8thumb"


def test_reactions_and_deletes_name_the_original_message(transport):
    fake = FakeGo()
    transport.client._NewClient__client = fake
    transport.send(
        Reply(
            kind="reaction",
            chat="120363012345678901@g.us",
            reply_to="M9",
            target="15551234567@s.whatsapp.net",
            emoji="👍",
        )
    )
    transport.send(
        Reply(kind="delete", chat="120363012345678901@g.us", reply_to="M10", target="15551234567@s.whatsapp.net")
    )
    reaction = fake.sent[0][1].reactionMessage
    assert (reaction.text, reaction.key.ID, reaction.key.participant, reaction.key.fromMe) == (
        "👍",
        "M9",
        "15551234567@s.whatsapp.net",
        False,
    )
    revoke = fake.sent[1][1].protocolMessage
    assert revoke.type == revoke.REVOKE and revoke.key.ID == "M10"


def test_group_actions_change_participants(transport):
    fake = FakeGo()
    transport.client._NewClient__client = fake
    transport.send(
        Reply(kind="group", chat="120363012345678901@g.us", action="promote", targets=("15550002222@s.whatsapp.net",))
    )
    [(group, jids, action)] = fake.participant_changes
    assert group.User == "120363012345678901" and [j.User for j in jids] == ["15550002222"] and action == "promote"


def test_the_invite_link_is_fetched_and_a_revoke_makes_a_new_one(transport):
    fake = FakeGo()
    transport.client._NewClient__client = fake
    chat = "120363012345678901@g.us"
    first = transport.send(Reply(kind="group", chat=chat, action="invite_link"))
    again = transport.send(Reply(kind="group", chat=chat, action="revoke_link"))
    assert fake.invite_requests == [("120363012345678901", False), ("120363012345678901", True)]
    assert first.detail["link"] == "https://chat.whatsapp.com/6789010"
    assert (
        again.detail["link"].startswith("https://chat.whatsapp.com/") and again.detail["link"] != first.detail["link"]
    )


def test_a_refused_send_raises_a_restricted_transport_error(transport):
    transport.client._NewClient__client = FakeGo(send_error="server returned error 429: rate-overlimit")
    with pytest.raises(TransportError) as info:
        transport.send(Reply(kind="text", chat="15551234567@s.whatsapp.net", text="hi"))
    assert info.value.restricted


def test_jid_strings_round_trip_with_every_required_field():
    jid = str_to_jid("15551234567:12@s.whatsapp.net")
    assert (jid.User, jid.Device, jid.Server) == ("15551234567", 12, "s.whatsapp.net")
    assert N.JID.FromString(jid.SerializeToString()) == jid


# -- a real connect(), offline ------------------------------------------------------------------------
def test_an_offline_connect_fails_fast_with_a_transport_error(tmp_path):
    transport = NeonizeTransport(session_name="offline1", dsn=str(tmp_path / "wa.sqlite3"), proxy=CLOSED_PORT_PROXY)
    started = time.monotonic()
    with pytest.raises(TransportError):
        transport.connect()
    assert time.monotonic() - started < 10
    assert transport.me() == ""


def _dial_lines(tmp_path, level: str) -> list[str]:
    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect(level=logging.DEBUG)
    socket_logger = logging.getLogger("whatsmeow.Client.Socket")
    old = socket_logger.level
    socket_logger.addHandler(handler)
    socket_logger.setLevel(logging.DEBUG)
    try:
        transport = NeonizeTransport(
            session_name=f"lvl{level}", dsn=str(tmp_path / f"{level}.sqlite3"), log_level=level, proxy=CLOSED_PORT_PROXY
        )
        with pytest.raises(TransportError):
            transport.connect()
        importlib.import_module(
            "neonize.utils.log"
        )._log_queue.join()  # Go's log lines arrive through a queue and a thread
    finally:
        socket_logger.removeHandler(handler)
        socket_logger.setLevel(old)
    return [line for line in seen if "Dialing" in line]


def test_go_drops_debug_lines_unless_log_level_is_debug(tmp_path):
    assert _dial_lines(tmp_path, "DEBUG")
    assert not _dial_lines(tmp_path, "INFO")


@pytest.mark.django_db(transaction=True)
def test_real_offline_dials_produce_reconnect_events_with_growing_delays(tmp_path):
    # A SQLite store even on PostgreSQL runs: Go's lib/pq pool would stay open in this process and keep
    # the test database from being dropped (the runbot process tests cover the PostgreSQL store).
    transport = NeonizeTransport(
        session_name="offline2", dsn=str(tmp_path / "offline2.sqlite3"), proxy=CLOSED_PORT_PROXY
    )
    machine = ConnectionMachine(policy=BackoffPolicy(base=0.05, cap=1.0, max_attempts=3, jitter=lambda c: c))
    runtime = BotRuntime(transport=transport, session_name="offline2", router=PingRouter(), machine=machine)
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    thread.join(60)
    assert out["code"] == ChildExit.FRESH
    attempts = list(ReconnectEvent.objects.filter(session_name="offline2").order_by("attempt"))
    assert [a.delay_seconds for a in attempts] == [0.05, 0.1, 0.2]
    assert all(a.outcome == "failed" and a.reason == "whatsapp_unreachable" for a in attempts)
    assert "dial" in attempts[0].detail["error"].lower() or "proxy" in attempts[0].detail["error"].lower()
    assert EMPTY.IsEmpty
