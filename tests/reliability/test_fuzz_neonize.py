"""Fuzzing neonize event translation: real protobuf events with arbitrary field values.

Every event goes through ``SerializePartialToString`` and ``FromString`` first (the path Go's
callback takes), then through the translation functions of ``bot/transport/neonize.py``; connection
signals then go through the ``ConnectionMachine``. Nothing may escape except ``TransportError`` (the
transport's own clear error), and each translation stays well under the hypothesis deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("neonize")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from neonize.events import (  # noqa: E402
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    GroupInfoEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.proto.waCommon import WACommon_pb2 as WACommon  # noqa: E402
from neonize.proto.waE2E import WAWebProtobufsE2E_pb2 as E2E  # noqa: E402

from bot.backoff import BackoffPolicy  # noqa: E402
from bot.child.connection import ConnectionMachine  # noqa: E402
from bot.models import ConnectionState  # noqa: E402
from bot.transport.base import (  # noqa: E402
    GroupChange,
    GroupInfo,
    IncomingMessage,
    MessageEdited,
    MessageRevoked,
    TransportError,
)
from bot.transport.neonize.history import translate_inbound  # noqa: E402
from bot.transport.neonize.translate import (  # noqa: E402
    _WRAPPERS,
    str_to_jid,
    translate_group_event,
    translate_group_info,
    translate_message,
    translate_signal,
)
from tests.reliability.fuzzing import Outcomes, fuzz_settings  # noqa: E402

FUZZ = fuzz_settings(150)
OUTCOMES = Outcomes("fuzz_neonize")
KINDS = {"text", "image", "video", "sticker", "audio", "document", "reaction", "other"}
SERVERS = ["s.whatsapp.net", "g.us", "lid", "broadcast", "newsletter", ""]

texts = st.text(max_size=60)
uint32 = st.integers(0, 2**32 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)
digits = st.text(alphabet="0123456789", min_size=0, max_size=20)
odd_digits = st.one_of(  # str.isdigit() but not int()-able, or past a uint32
    st.text(alphabet="0123456789²٣₄", min_size=1, max_size=12),
    st.integers(2**32, 10**30).map(str),
)
# Values the wire may carry for an int64 time, the edges first (hypothesis rarely draws them itself).
times = st.one_of(
    st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 253402300800000, 253402300800, -62135596801]),
    int64,
    st.integers(0, 2**41),
)

jids = st.builds(
    N.JID,
    User=st.one_of(digits, texts),
    RawAgent=st.integers(0, 255),
    Device=uint32,
    Integrator=st.integers(0, 65535),
    Server=st.one_of(st.sampled_from(SERVERS), texts),
    IsEmpty=st.booleans(),
)
jid_texts = st.one_of(
    texts,
    st.builds(lambda u, s: f"{u}@{s}", digits, st.sampled_from(SERVERS)),
    st.builds(lambda u, d, s: f"{u}:{d}@{s}", digits, st.one_of(odd_digits, digits), st.sampled_from(SERVERS)),
    st.builds(lambda u, a, d: f"{u}.{a}:{d}@s.whatsapp.net", digits, st.one_of(odd_digits, digits), digits),
)
contexts = st.builds(
    E2E.ContextInfo,
    mentionedJID=st.lists(st.one_of(jid_texts, texts), max_size=4),
    stanzaID=texts,
    participant=jid_texts,
)


def _content() -> st.SearchStrategy:
    def caption(field: str, cls):
        return st.builds(lambda c, ctx: E2E.Message(**{field: cls(caption=c, contextInfo=ctx)}), texts, contexts)

    return st.one_of(
        st.just(E2E.Message()),
        st.builds(lambda t: E2E.Message(conversation=t), texts),
        st.builds(
            lambda t, ctx: E2E.Message(extendedTextMessage=E2E.ExtendedTextMessage(text=t, contextInfo=ctx)),
            texts,
            contexts,
        ),
        caption("imageMessage", E2E.ImageMessage),
        caption("videoMessage", E2E.VideoMessage),
        caption("ptvMessage", E2E.VideoMessage),
        caption("documentMessage", E2E.DocumentMessage),
        st.builds(lambda ctx: E2E.Message(stickerMessage=E2E.StickerMessage(contextInfo=ctx)), contexts),
        st.builds(lambda ctx: E2E.Message(audioMessage=E2E.AudioMessage(contextInfo=ctx)), contexts),
        st.builds(
            lambda a, b: E2E.Message(
                buttonsResponseMessage=E2E.ButtonsResponseMessage(selectedDisplayText=a, selectedButtonID=b)
            ),
            texts,
            texts,
        ),
        st.builds(
            lambda a, b: E2E.Message(
                templateButtonReplyMessage=E2E.TemplateButtonReplyMessage(selectedDisplayText=a, selectedID=b)
            ),
            texts,
            texts,
        ),
        st.builds(
            lambda a, b: E2E.Message(
                listResponseMessage=E2E.ListResponseMessage(
                    title=a, singleSelectReply=E2E.ListResponseMessage.SingleSelectReply(selectedRowID=b)
                )
            ),
            texts,
            texts,
        ),
        st.builds(lambda a: E2E.Message(pollCreationMessage=E2E.PollCreationMessage(name=a)), texts),
        st.builds(lambda a: E2E.Message(reactionMessage=E2E.ReactionMessage(text=a)), texts),
        st.builds(lambda a: E2E.Message(contactMessage=E2E.ContactMessage(displayName=a)), texts),
        st.builds(lambda a, b: E2E.Message(locationMessage=E2E.LocationMessage(name=a, address=b)), texts, texts),
        st.builds(  # a delete or an edit of another message, named by its key
            lambda kind, target, who, me, text: E2E.Message(
                protocolMessage=E2E.ProtocolMessage(
                    type=kind,
                    key=WACommon.MessageKey(ID=target, participant=who, fromMe=me),
                    editedMessage=E2E.Message(conversation=text),
                )
            ),
            st.sampled_from([E2E.ProtocolMessage.REVOKE, E2E.ProtocolMessage.MESSAGE_EDIT, 3]),
            texts,
            jid_texts,
            st.booleans(),
            texts,
        ),
    )


WRAPPERS = list(_WRAPPERS)  # the transport's own list: a new wrapper gets fuzzed too


def _wrap(inner: E2E.Message, how: str) -> E2E.Message:
    if how == "protocol_edit":
        return E2E.Message(protocolMessage=E2E.ProtocolMessage(editedMessage=inner))
    return E2E.Message(**{how: E2E.FutureProofMessage(message=inner)})


messages = st.recursive(
    _content(),
    lambda inner: st.builds(_wrap, inner, st.sampled_from([*WRAPPERS, "protocol_edit"])),
    max_leaves=8,
)


@st.composite
def message_events(draw) -> MessageEv:
    source = N.MessageSource(
        Chat=draw(jids),
        Sender=draw(jids),
        IsFromMe=draw(st.booleans()),
        IsGroup=draw(st.booleans()),
        SenderAlt=draw(jids),
        RecipientAlt=draw(jids),
        BroadcastListOwner=draw(jids),
    )
    info = N.MessageInfo(
        MessageSource=source,
        ID=draw(texts),
        ServerID=draw(st.integers(0, 2**31 - 1)),
        Type=draw(texts),
        Pushname=draw(texts),
        Timestamp=draw(times),
        Category="",
        Multicast=False,
        MediaType="",
        Edit="",
    )
    ev = MessageEv(Info=info)
    ev.Message.CopyFrom(draw(messages))
    return ev


@pytest.fixture(scope="module", autouse=True)
def _figure():
    yield
    print("\n" + OUTCOMES.line())


def _as_go_sends_it(ev):
    """Serialized and parsed back, as neonize's callback receives every event."""
    return type(ev).FromString(ev.SerializePartialToString())


@FUZZ
@given(ev=message_events())
def test_any_message_event_translates_or_raises_the_transport_error(ev):
    try:
        message = translate_inbound(_as_go_sends_it(ev))  # what the transport calls: a delete, an edit or a message
    except TransportError as exc:
        assert str(exc)
        OUTCOMES.refused("message")
        return
    OUTCOMES.took("message")
    if isinstance(message, MessageRevoked | MessageEdited):
        assert message.target_id and all(isinstance(v, str) for v in (message.id, message.chat, message.sender))
        assert message.timestamp.tzinfo is not None
        return
    assert isinstance(message, IncomingMessage)
    assert all(isinstance(v, str) for v in (message.id, message.chat, message.sender, message.text, message.quoted_id))
    assert isinstance(message.quoted_sender, str) and isinstance(message.sender_alt, str)
    assert message.timestamp.tzinfo is not None
    assert all(isinstance(m, str) and m for m in message.mentions)
    assert message.kind in KINDS


connection_events = st.one_of(
    st.builds(ConnectedEv, status=st.booleans()),
    st.builds(DisconnectedEv, status=st.booleans()),
    st.builds(KeepAliveTimeoutEv, ErrorCount=st.integers(-(2**31), 2**31 - 1), LastSuccess=int64),
    st.builds(KeepAliveRestoredEv),
    st.builds(LoggedOutEv, OnConnect=st.booleans(), Reason=st.sampled_from(list(N.ConnectFailureReason.values()))),
    st.builds(StreamReplacedEv),
    st.builds(TemporaryBanEv, Code=st.sampled_from(list(TemporaryBanEv.TempBanReason.values())), Expire=int64),
    st.builds(
        ConnectFailureEv, Reason=st.sampled_from(list(N.ConnectFailureReason.values())), Message=st.text(max_size=400)
    ),
    st.builds(ClientOutdatedEv),
    st.builds(StreamErrorEv, Code=st.text(max_size=80)),
    st.builds(
        PairStatusEv,
        ID=jids,
        BusinessName=texts,
        Platform=texts,
        Status=st.sampled_from(list(PairStatusEv.PStatus.values())),
        Error=st.text(max_size=400),
    ),
)


@FUZZ
@given(ev=connection_events, state=st.sampled_from(list(ConnectionState)), failures=st.integers(0, 9))
def test_any_connection_event_becomes_a_signal_the_state_machine_takes(ev, state, failures):
    signal = translate_signal(_as_go_sends_it(ev))
    assert signal is not None and signal.kind
    assert len(signal.reason) <= 64 and all(len(str(v)) <= 400 for v in signal.detail.values())
    machine = ConnectionMachine(policy=BackoffPolicy(base=1.0, cap=120.0, max_attempts=5), state=state)
    machine.failures = failures
    decision = machine.handle(signal)
    OUTCOMES.took("connection")
    assert decision.delay >= 0 and decision.delay <= max(120.0, 30 * 24 * 3600.0)


@st.composite
def group_events(draw) -> GroupInfoEv:
    ev = GroupInfoEv(
        JID=draw(jids),
        Timestamp=draw(times),
        Join=draw(st.lists(jids, max_size=3)),
        Leave=draw(st.lists(jids, max_size=3)),
        Promote=draw(st.lists(jids, max_size=3)),
        Demote=draw(st.lists(jids, max_size=3)),
    )
    if draw(st.booleans()):
        ev.Sender.CopyFrom(draw(jids))
    if draw(st.booleans()):
        ev.Name.Name = draw(texts)
    if draw(st.booleans()):
        ev.Topic.Topic = draw(texts)
        ev.Topic.TopicDeleted = draw(st.booleans())
    return ev


@FUZZ
@given(ev=group_events())
def test_any_group_event_translates_or_raises_the_transport_error(ev):
    try:
        change = translate_group_event(_as_go_sends_it(ev))
    except TransportError as exc:
        assert str(exc)
        OUTCOMES.refused("group_event")
        return
    OUTCOMES.took("group_event")
    assert isinstance(change, GroupChange)
    assert change.at.tzinfo is not None
    assert all(isinstance(j, str) for j in (*change.joined, *change.left, *change.promoted, *change.demoted))


participants = st.builds(
    N.GroupParticipant,
    JID=jids,
    LID=jids,
    PhoneNumber=jids,
    IsAdmin=st.booleans(),
    IsSuperAdmin=st.booleans(),
    DisplayName=texts,
)


@FUZZ
@given(chat=jids, name=texts, topic=texts, members=st.lists(participants, max_size=5), flags=st.booleans())
def test_any_group_info_translates(chat, name, topic, members, flags):
    info = N.GroupInfo(JID=chat, Participants=members)
    info.GroupName.Name = name
    info.GroupTopic.Topic = topic
    info.GroupAnnounce.IsAnnounce = flags
    info.GroupLocked.isLocked = not flags
    group = translate_group_info(_as_go_sends_it(info))
    OUTCOMES.took("group_info")
    assert isinstance(group, GroupInfo) and len(group.participants) == len(members)
    assert all(isinstance(p.phone, str) and isinstance(p.jid, str) for p in group.participants)


@FUZZ
@given(value=st.one_of(jid_texts, st.text(max_size=80)))
def test_any_jid_text_parses_to_a_complete_jid_or_raises_the_transport_error(value):
    try:
        jid = str_to_jid(value)
    except TransportError as exc:
        assert str(exc)
        OUTCOMES.refused("jid")
        return
    OUTCOMES.took("jid")
    assert N.JID.FromString(jid.SerializeToString()) == jid  # every required field set, values in range


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 253402300800000, -(10**15)])
def test_a_timestamp_datetime_cannot_hold_reads_as_now(value):
    """Regression: these int64 times raised ValueError/OSError and the message or group event was lost."""
    ev = MessageEv(Info=N.MessageInfo(ID="X", Timestamp=value))
    ev.Message.conversation = ".ping"
    before = datetime.now(UTC)
    assert translate_message(ev).timestamp >= before
    assert translate_group_event(GroupInfoEv(JID=N.JID(User="1", Server="g.us"), Timestamp=value)).at >= before


@pytest.mark.parametrize(
    ("text", "device", "agent"),
    [("1:99999999999@s.whatsapp.net", 0, 0), ("1:²@s.whatsapp.net", 0, 0), ("1.²:7@s.whatsapp.net", 7, 0)],
)
def test_a_jid_with_an_impossible_device_or_agent_number_drops_it(text, device, agent):
    """Regression: int('²') and a device past uint32 raised ValueError while reading a quote."""
    jid = str_to_jid(text)
    assert (jid.User, jid.Device, jid.RawAgent) == ("1", device, agent)
