"""The real transport: neonize 0.5.2 (Python over Go whatsmeow), translated to our dataclasses.

Imported only by the bot child (never by the supervisor or the web app: a process that imported
neonize must never fork). Facts this module relies on are in ``notes/neonize.md``:

- the store DSN is the first argument of ``NewClient`` and ``uuid`` is always the session name
  (otherwise the full PostgreSQL URL, password included, becomes the Go map key and thread name);
- every handler is registered before ``connect()`` (handlers added later are never subscribed);
- handlers run on Go's event thread, whose queue holds 100 events: they only translate and hand
  the result to the runtime's queues, inside ``try/except`` (an exception there is swallowed by
  ctypes and the event lost);
- ``connect()`` blocks for the whole session and raises ``NeonizeError`` in milliseconds on a failed
  first dial (whatsmeow does not retry a first dial): we raise ``TransportError`` and the runtime
  retries with back-off;
- Go's log level is read at ``connect()`` from logger ``neonize.utils.log``: we set it from ``LOG_LEVEL``
  so DEBUG lines are dropped in Go, before the FFI hop;
- ``get_me()`` before the first connect aborts the process: ``me()`` reads ``client.me`` instead.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from neonize._binder import ProxySettings
from neonize.client import NewClient
from neonize.events import (
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    GroupInfoEv,
    JoinedGroupEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    MessageEv,
    PairStatusEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
)
from neonize.exc import NeonizeError
from neonize.proto import Neonize_pb2 as neonize_proto
from neonize.proto.Neonize_pb2 import JID
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    ContextInfo,
    ExtendedTextMessage,
    Message,
    ProtocolMessage,
    ReactionMessage,
)
from neonize.utils.enum import ChatPresence, ChatPresenceMedia, ParticipantChange
from neonize.utils.jid import Jid2String
from neonize.utils.log import log as neonize_go_log

from bot.transport.base import (
    GROUP_SERVER,
    LID_SERVER,
    USER_SERVER,
    ConnectionSignal,
    GroupChange,
    GroupInfo,
    IncomingMessage,
    Participant,
    Reply,
    SendResult,
    Transport,
    TransportError,
    jid_server,
    jid_user,
)

logger = logging.getLogger(__name__)

RECENT_MESSAGES = 512  # incoming events kept to quote them in replies
_MENTION = re.compile(r"@(\d{5,16})\b")
_RESTRICTED_MARKERS = ("rate-overlimit", "429", "463", "not-authorized", "temporarily banned")
_WRAPPERS = (
    "ephemeralMessage",
    "viewOnceMessage",
    "viewOnceMessageV2",
    "viewOnceMessageV2Extension",
    "documentWithCaptionMessage",
    "editedMessage",
    "groupMentionedMessage",
    "botInvokeMessage",
    "lottieStickerMessage",
    "spoilerMessage",
)
_KINDS = {
    "conversation": "text",
    "extendedTextMessage": "text",
    "imageMessage": "image",
    "videoMessage": "video",
    "ptvMessage": "video",
    "stickerMessage": "sticker",
    "audioMessage": "audio",
    "documentMessage": "document",
    "reactionMessage": "reaction",
}
_GROUP_ACTIONS = {
    "add": ParticipantChange.ADD,
    "remove": ParticipantChange.REMOVE,
    "promote": ParticipantChange.PROMOTE,
    "demote": ParticipantChange.DEMOTE,
}
_GO_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}


# -- JIDs ------------------------------------------------------------------------------------------------
def jid_to_str(jid: JID, *, keep_device: bool = False) -> str:
    """A proto JID as 'user@server' ('' for the empty JID); the device is dropped unless asked for."""
    user, server = jid.User, jid.Server
    if not user and not server:
        return ""
    if keep_device and (jid.Device or jid.RawAgent):
        return Jid2String(jid)
    return f"{user}@{server}"  # what JIDToNonAD + Jid2String give, without two proto copies per call


def non_ad(value: str) -> str:
    """'1555:12@s.whatsapp.net' -> '1555@s.whatsapp.net' (device and agent dropped), as a string."""
    user, at, server = value.partition("@")
    return f"{user.split(':', 1)[0].split('.', 1)[0]}{at}{server}" if at else value


def str_to_jid(value: str) -> JID:
    """'1555...@s.whatsapp.net', '1555:12@s.whatsapp.net', '1203...@g.us', '...@lid' or bare digits -> JID.

    Every proto2 required field is set, so the JID serialises (neonize's own parser leaves some out).
    """
    value = value.strip()
    if not value:
        raise TransportError("empty JID")
    user, _, server = value.partition("@")
    server = server or USER_SERVER
    device = 0
    agent = 0
    if ":" in user:
        user, _, dev = user.partition(":")
        device = _uint32(dev)
    if "." in user and server != GROUP_SERVER:
        user, _, ag = user.partition(".")
        agent = _uint32(ag)
    return JID(User=user, RawAgent=agent, Device=device, Integrator=0, Server=server, IsEmpty=False)


def _uint32(text: str) -> int:
    """A JID's device or agent number; 0 when it is not one (JID fields are uint32; '²'.isdigit() is True)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return 0
    number = int(text)
    return number if number < 2**32 else 0


def seconds_to_datetime(seconds: float) -> datetime:
    """An aware UTC time; now for 0 or a value datetime cannot hold (int64 from the wire)."""
    if not seconds:
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return datetime.now(UTC)


# -- messages --------------------------------------------------------------------------------------------
def unwrap(message: Message) -> Message:
    """Strip the wrappers (ephemeral, view-once, edited, document-with-caption...) down to the content."""
    if message.conversation or message.HasField("extendedTextMessage"):
        return message  # the common case: plain text, no wrapper
    for _ in range(5):
        for name in _WRAPPERS:
            if message.HasField(name) and message_field(message, name).HasField("message"):
                message = message_field(message, name).message
                break
        else:
            break
    if message.HasField("protocolMessage") and message.protocolMessage.HasField("editedMessage"):
        return unwrap(message.protocolMessage.editedMessage)
    return message


def message_field(message: Message, name: str) -> Any:
    return getattr(message, name)


def message_kind(message: Message, *, unwrapped: bool = False) -> str:
    inner = message if unwrapped else unwrap(message)
    for name, kind in _KINDS.items():
        if name == "conversation":
            if inner.conversation:
                return kind
        elif inner.HasField(name):
            return kind
    return "other"


def message_text(message: Message, *, unwrapped: bool = False) -> str:
    """The readable text of any message kind: body, caption, button/list reply, poll name, reaction."""
    inner = message if unwrapped else unwrap(message)
    if inner.conversation:
        return inner.conversation
    if inner.HasField("extendedTextMessage"):
        return inner.extendedTextMessage.text
    for name in ("imageMessage", "videoMessage", "ptvMessage", "documentMessage"):
        if inner.HasField(name):
            return message_field(inner, name).caption
    if inner.HasField("buttonsResponseMessage"):
        return inner.buttonsResponseMessage.selectedDisplayText or inner.buttonsResponseMessage.selectedButtonID
    if inner.HasField("templateButtonReplyMessage"):
        reply = inner.templateButtonReplyMessage
        return reply.selectedDisplayText or reply.selectedID
    if inner.HasField("listResponseMessage"):
        reply = inner.listResponseMessage
        return reply.singleSelectReply.selectedRowID or reply.title
    if inner.HasField("interactiveResponseMessage"):
        return inner.interactiveResponseMessage.body.text
    for name in ("pollCreationMessage", "pollCreationMessageV2", "pollCreationMessageV3"):
        if inner.HasField(name):
            return message_field(inner, name).name
    if inner.HasField("reactionMessage"):
        return inner.reactionMessage.text
    if inner.HasField("contactMessage"):
        return inner.contactMessage.displayName
    if inner.HasField("locationMessage"):
        return inner.locationMessage.name or inner.locationMessage.address
    return ""


def context_of(message: Message, *, unwrapped: bool = False) -> ContextInfo | None:
    """The ContextInfo (mentions, quote) of whichever content field carries one."""
    inner = message if unwrapped else unwrap(message)
    if inner.conversation:
        return None
    if inner.HasField("extendedTextMessage"):
        text = inner.extendedTextMessage
        return text.contextInfo if text.HasField("contextInfo") else None
    for field_desc, value in inner.ListFields():
        if field_desc.message_type is None:
            continue
        if "contextInfo" in field_desc.message_type.fields_by_name and value.HasField("contextInfo"):
            return value.contextInfo
    return None


def ms_to_datetime(value: int) -> datetime:
    """MessageInfo.Timestamp is in milliseconds (UnixMilli); tolerate seconds, and 0 means now."""
    seconds = value / 1000 if value > 100_000_000_000 else float(value)
    return seconds_to_datetime(seconds)


def translate_message(ev: Any) -> IncomingMessage:
    """``MessageEv`` -> ``IncomingMessage`` (LID senders get their phone JID in ``sender_alt``)."""
    source = ev.Info.MessageSource
    chat = jid_to_str(source.Chat)
    sender = jid_to_str(source.Sender)
    sender_alt = jid_to_str(source.SenderAlt) if source.SenderAlt.User else ""
    inner = unwrap(ev.Message)
    context = context_of(inner, unwrapped=True)
    mentions: tuple[str, ...] = ()
    quoted_id = quoted_sender = ""
    if context is not None:
        mentions = tuple(m for m in context.mentionedJID if m)
        quoted_id = context.stanzaID
        if context.participant:
            quoted_sender = non_ad(context.participant)
    return IncomingMessage(
        id=ev.Info.ID,
        chat=chat,
        sender=sender,
        sender_alt=sender_alt,
        text=message_text(inner, unwrapped=True),
        timestamp=ms_to_datetime(ev.Info.Timestamp),
        is_group=bool(source.IsGroup) or jid_server(chat) == GROUP_SERVER,
        from_me=bool(source.IsFromMe),
        push_name=ev.Info.Pushname,
        mentions=mentions,
        quoted_id=quoted_id,
        quoted_sender=quoted_sender,
        kind=message_kind(inner, unwrapped=True),
        raw=ev,
    )


# -- connection and group events ---------------------------------------------------------------------------
def _reason_name(value: int) -> str:
    try:
        return neonize_proto.ConnectFailureReason.Name(value).lower()
    except ValueError:
        return f"reason_{value}"


def translate_signal(ev: Any) -> ConnectionSignal | None:
    """A connection-level event -> ``ConnectionSignal`` (None for anything else)."""
    if isinstance(ev, ConnectedEv):
        return ConnectionSignal(kind="connected")
    if isinstance(ev, DisconnectedEv):
        return ConnectionSignal(kind="disconnected")
    if isinstance(ev, KeepAliveTimeoutEv):
        return ConnectionSignal(
            kind="keepalive_timeout", detail={"error_count": ev.ErrorCount, "last_success": ev.LastSuccess}
        )
    if isinstance(ev, KeepAliveRestoredEv):
        return ConnectionSignal(kind="keepalive_restored")
    if isinstance(ev, LoggedOutEv):
        return ConnectionSignal(kind="logged_out", reason=_reason_name(ev.Reason), detail={"on_connect": ev.OnConnect})
    if isinstance(ev, StreamReplacedEv):
        return ConnectionSignal(kind="stream_replaced")
    if isinstance(ev, TemporaryBanEv):
        try:
            code = TemporaryBanEv.TempBanReason.Name(ev.Code).lower()
        except ValueError:
            code = f"code_{ev.Code}"
        return ConnectionSignal(kind="temporary_ban", reason=code, detail={"expire_seconds": ev.Expire})
    if isinstance(ev, ConnectFailureEv):
        return ConnectionSignal(
            kind="connect_failure", reason=_reason_name(ev.Reason), detail={"message": ev.Message[:200]}
        )
    if isinstance(ev, ClientOutdatedEv):
        return ConnectionSignal(kind="client_outdated")
    if isinstance(ev, StreamErrorEv):
        return ConnectionSignal(kind="stream_error", reason=ev.Code[:32])
    if isinstance(ev, PairStatusEv):
        if ev.Status == PairStatusEv.PStatus.SUCCESS:
            return ConnectionSignal(
                kind="pair_success",
                detail={
                    "jid": jid_to_str(ev.ID, keep_device=True),
                    "business_name": ev.BusinessName,
                    "platform": ev.Platform,
                },
            )
        return ConnectionSignal(kind="pair_error", reason="pair_error", detail={"error": ev.Error[:200]})
    return None


def translate_group_event(ev: Any) -> GroupChange:
    """``GroupInfoEv`` -> ``GroupChange`` (who joined, left, was promoted/demoted; new name/topic)."""
    return GroupChange(
        chat=jid_to_str(ev.JID),
        actor=jid_to_str(ev.Sender) if ev.HasField("Sender") else "",
        joined=tuple(jid_to_str(j) for j in ev.Join),
        left=tuple(jid_to_str(j) for j in ev.Leave),
        promoted=tuple(jid_to_str(j) for j in ev.Promote),
        demoted=tuple(jid_to_str(j) for j in ev.Demote),
        name=ev.Name.Name if ev.HasField("Name") and ev.Name.Name else None,
        topic=ev.Topic.Topic if ev.HasField("Topic") and (ev.Topic.Topic or ev.Topic.TopicDeleted) else None,
        at=seconds_to_datetime(ev.Timestamp),
    )


def translate_group_info(info: Any) -> GroupInfo:
    """neonize ``GroupInfo`` -> ours, participants with JID, phone digits, LID and admin flags."""
    participants = []
    for p in info.Participants:
        jid = jid_to_str(p.JID)
        phone = p.PhoneNumber.User or (p.JID.User if p.JID.Server == USER_SERVER else "")
        lid = jid_to_str(p.LID) if p.LID.User else (jid if p.JID.Server == LID_SERVER else "")
        participants.append(
            Participant(jid=jid, phone=phone, lid=lid, is_admin=p.IsAdmin, is_super_admin=p.IsSuperAdmin)
        )
    return GroupInfo(
        chat=jid_to_str(info.JID),
        name=info.GroupName.Name,
        topic=info.GroupTopic.Topic,
        announce=info.GroupAnnounce.IsAnnounce,
        locked=info.GroupLocked.isLocked,
        participants=tuple(participants),
    )


def restricted(error: str) -> bool:
    lowered = error.lower()
    return any(marker in lowered for marker in _RESTRICTED_MARKERS)


# -- the transport ------------------------------------------------------------------------------------------
class NeonizeTransport(Transport):
    """One WhatsApp session through neonize; ``connect()`` blocks until ``stop()`` or a failed dial."""

    def __init__(
        self,
        *,
        session_name: str,
        dsn: str,
        log_level: str = "INFO",
        pair_phone: str = "",
        proxy: str = "",
        device_name: str = "",
        client: NewClient | None = None,
    ) -> None:
        super().__init__()
        self.session_name = session_name
        self.dsn = dsn
        self.log_level = log_level
        self.pair_phone = pair_phone
        self.proxy = proxy
        props = DeviceProps(os=device_name or "BLACKSKY-MD", platformType=DeviceProps.PlatformType.DESKTOP)
        self.client = client or NewClient(dsn, props=props, uuid=session_name)
        self._recent: OrderedDict[str, Any] = OrderedDict()
        self._recent_lock = threading.Lock()
        self._pair_requested = False
        self._qr_count = 0
        # Go's event thread only parks message and group events here; one translator thread turns them
        # into our dataclasses in order, so neither translation nor a full inbox ever holds Go up.
        self._raw: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._translator = threading.Thread(target=self._translate_loop, name="neonize-translate", daemon=True)
        self._translator.start()
        self._register_handlers()

    # -- handlers: translate, hand over, never raise, never wait ------------------------------------------
    def _register_handlers(self) -> None:
        for event_class in (
            ConnectedEv,
            DisconnectedEv,
            KeepAliveTimeoutEv,
            KeepAliveRestoredEv,
            LoggedOutEv,
            StreamReplacedEv,
            TemporaryBanEv,
            ConnectFailureEv,
            ClientOutdatedEv,
            StreamErrorEv,
            PairStatusEv,
        ):
            self.client.event(event_class)(self._handle_connection_event)
        self.client.event(MessageEv)(self._handle_message_event)
        self.client.event(GroupInfoEv)(self._handle_group_event)
        self.client.event(JoinedGroupEv)(self._handle_joined_group)
        self.client.qr(self._handle_qr)

    def _handle_connection_event(self, client: Any, ev: Any) -> None:
        try:
            signal = translate_signal(ev)
            if signal is not None:
                self.on_signal(signal)
        except Exception:
            logger.exception("translating a connection event failed", extra={"event": type(ev).__name__})

    def _handle_message_event(self, client: Any, ev: Any) -> None:
        self._raw.put(ev)  # on Go's thread: nothing else

    def _handle_group_event(self, client: Any, ev: Any) -> None:
        self._raw.put(ev)

    def _translate_loop(self) -> None:
        while True:
            item = self._raw.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                if isinstance(item, GroupInfoEv):
                    self.on_group_change(translate_group_event(item))
                    continue
                message = translate_message(item)
                with self._recent_lock:
                    self._recent[message.id] = item
                    while len(self._recent) > RECENT_MESSAGES:
                        self._recent.popitem(last=False)
                self.on_message(message)
            except Exception:
                logger.exception("translating an event failed", extra={"session": self.session_name})

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event received so far was translated and handed on (tests, shutdown)."""
        done = threading.Event()
        self._raw.put(done)
        return done.wait(timeout)

    def _handle_joined_group(self, client: Any, ev: Any) -> None:
        try:
            me = self.me()
            self.on_group_change(
                GroupChange(
                    chat=jid_to_str(ev.GroupInfo.JID),
                    actor=jid_to_str(ev.Sender) if ev.HasField("Sender") else "",
                    joined=(me,) if me else (),
                    name=ev.GroupInfo.GroupName.Name or None,
                )
            )
        except Exception:
            logger.exception("translating a joined-group event failed", extra={"session": self.session_name})

    def _handle_qr(self, client: Any, data: bytes) -> None:
        """Runs on the connect worker thread once per QR rotation; a phone pairing code is asked for once."""
        try:
            valid_for = 20.0 if self._qr_count else 60.0  # whatsmeow: the first code lives 60 s, the rest 20 s
            self._qr_count += 1
            self.on_signal(
                ConnectionSignal(kind="qr", detail={"code": data.decode(errors="replace"), "valid_for": valid_for})
            )
            if self.pair_phone and not self._pair_requested:
                self._pair_requested = True
                threading.Thread(target=self._request_pair_code, name="pair-phone", daemon=True).start()
        except Exception:
            logger.exception("handling a QR code failed", extra={"session": self.session_name})

    def _request_pair_code(self) -> None:
        try:
            code = self.client.PairPhone(self.pair_phone, True)
        except Exception as exc:
            logger.error("pairing by phone number failed", extra={"session": self.session_name, "error": str(exc)})
            self.on_signal(ConnectionSignal(kind="pair_error", reason="pair_phone", detail={"error": str(exc)[:200]}))
            return
        self.on_signal(ConnectionSignal(kind="pair_code", detail={"code": code}))

    # -- lifecycle ------------------------------------------------------------------------------------
    def apply_log_level(self) -> None:
        """Go reads this logger's explicit level at connect(): DEBUG lines are then dropped in Go."""
        neonize_go_log.setLevel(_GO_LEVELS.get(self.log_level.upper(), logging.ERROR))

    def connect(self) -> None:
        self.apply_log_level()
        self._pair_requested = False
        self._qr_count = 0
        proxy = ProxySettings(self.proxy) if self.proxy else None
        try:
            self.client.connect(proxy)
        except NeonizeError as exc:
            raise TransportError(str(exc)) from exc

    def stop(self) -> None:
        try:
            self.client.stop()
        except NeonizeError as exc:
            logger.warning("neonize stop failed", extra={"session": self.session_name, "error": str(exc)})

    def healthy(self) -> bool:
        return bool(self.client.is_connected)

    def me(self) -> str:
        device = self.client.me
        if device is None or not device.JID.User:
            return ""
        return jid_to_str(device.JID)

    # -- sending --------------------------------------------------------------------------------------
    def _quote(self, reply: Reply) -> ContextInfo | None:
        if not reply.reply_to:
            return None
        with self._recent_lock:
            quoted = self._recent.get(reply.reply_to)
        context = ContextInfo(stanzaID=reply.reply_to)
        if quoted is not None:
            context.participant = jid_to_str(quoted.Info.MessageSource.Sender)
            context.quotedMessage.CopyFrom(quoted.Message)
        elif reply.target:
            context.participant = reply.target
        return context

    def _mentions(self, reply: Reply) -> list[str]:
        if reply.mentions:
            return list(reply.mentions)
        return [f"{digits}@{USER_SERVER}" for digits in _MENTION.findall(reply.text)]

    def build(self, reply: Reply) -> Message:
        """The ``waE2E.Message`` for a text, media, reaction or delete reply (media is uploaded here)."""
        if reply.kind == "text":
            context = self._quote(reply) or ContextInfo()
            context.mentionedJID.extend(self._mentions(reply))
            return Message(extendedTextMessage=ExtendedTextMessage(text=reply.text, contextInfo=context))
        if reply.kind in {"video", "image", "sticker"}:
            if reply.media is None or not reply.media.data:
                raise TransportError(f"{reply.kind} reply without media bytes (asset {reply.asset!r} not resolved)")
            from bot.transport.neonize.media import media_message_build

            media = reply.media
            if reply.gif_playback and not media.gif_playback:
                media = replace(media, gif_playback=True)
            return media_message_build(
                self.client,
                media,
                kind=reply.kind,
                caption=reply.text,
                mentions=self._mentions(reply),
                context=self._quote(reply),
            )
        if reply.kind == "reaction":
            return Message(
                reactionMessage=ReactionMessage(
                    key=self._key(reply), text=reply.emoji, senderTimestampMS=int(time.time() * 1000)
                )
            )
        if reply.kind == "delete":
            return Message(protocolMessage=ProtocolMessage(type=ProtocolMessage.Type.REVOKE, key=self._key(reply)))
        raise TransportError(f"cannot build a message of kind {reply.kind!r}")

    def _key(self, reply: Reply) -> MessageKey:
        me = jid_user(self.me())
        from_me = not reply.target or (bool(me) and jid_user(reply.target) == me)
        key = MessageKey(remoteJID=reply.chat, fromMe=from_me, ID=reply.reply_to)
        if jid_server(reply.chat) == GROUP_SERVER and reply.target and not from_me:
            key.participant = reply.target
        return key

    def send(self, reply: Reply) -> SendResult:
        try:
            if reply.kind == "group":
                return self._group_action(reply)
            response = self.client.send_message(str_to_jid(reply.chat), self.build(reply))
        except NeonizeError as exc:
            raise TransportError(str(exc), restricted=restricted(str(exc))) from exc
        return SendResult(id=response.ID, detail={"server_id": response.ServerID})

    def _group_action(self, reply: Reply) -> SendResult:
        chat = str_to_jid(reply.chat)
        action = reply.action
        if action in _GROUP_ACTIONS:
            targets = [str_to_jid(t) for t in reply.targets]
            if not targets:
                raise TransportError(f"group {action} needs targets")
            self.client.update_group_participants(chat, targets, _GROUP_ACTIONS[action])
        elif action == "name":
            self.client.set_group_name(chat, reply.text)
        elif action == "topic":
            self.client.set_group_topic(chat, "", "", reply.text)
        elif action in {"announce", "unannounce"}:
            self.client.set_group_announce(chat, action == "announce")
        elif action in {"invite_link", "revoke_link"}:
            link = self.client.get_group_invite_link(chat, revoke=action == "revoke_link")
            return SendResult(id="", detail={"link": link})
        else:
            raise TransportError(f"unknown group action {action!r}")
        return SendResult(id="", detail={"action": action, "targets": list(reply.targets)})

    def send_presence(self, chat: str, *, composing: bool) -> None:
        state = ChatPresence.CHAT_PRESENCE_COMPOSING if composing else ChatPresence.CHAT_PRESENCE_PAUSED
        try:
            self.client.send_chat_presence(str_to_jid(chat), state, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)
        except NeonizeError as exc:
            logger.debug("presence not sent", extra={"error": str(exc)})

    def group_info(self, chat: str) -> GroupInfo:
        try:
            return translate_group_info(self.client.get_group_info(str_to_jid(chat)))
        except NeonizeError as exc:
            raise TransportError(str(exc), restricted=restricted(str(exc))) from exc
