"""The real transport: neonize 0.5.2 (Python over Go whatsmeow), translated to our dataclasses.

Imported only by the bot child (never by the supervisor or the web app: a process that imported
neonize must never fork). Facts this module relies on (docs/architecture.md, section 7):

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
from pathlib import Path
from typing import Any

from neonize._binder import ProxySettings
from neonize.client import NewClient
from neonize.events import (
    CallOfferEv,
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
    ReceiptEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
    UndecryptableMessageEv,
)
from neonize.exc import NeonizeError
from neonize.proto.waCommon.WACommon_pb2 import MessageKey
from neonize.proto.waCompanionReg.WAWebProtobufsCompanionReg_pb2 import DeviceProps
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (
    ContextInfo,
    ExtendedTextMessage,
    Message,
    ProtocolMessage,
    ReactionMessage,
)
from neonize.utils.enum import ChatPresence, ChatPresenceMedia
from neonize.utils.log import log as neonize_go_log

from bot.transport.base import (
    GROUP_SERVER,
    USER_SERVER,
    ConnectionSignal,
    GroupChange,
    GroupInfo,
    LivenessPong,
    MediaRef,
    PrimarySeen,
    Reply,
    SendResult,
    Transport,
    TransportError,
    jid_server,
    jid_user,
)
from bot.transport.neonize.actions import NeonizeActions
from bot.transport.neonize.group_actions import group_action_send
from bot.transport.neonize.history import translate_inbound
from bot.transport.neonize.pictures import GroupPictures
from bot.transport.neonize.translate import (
    jid_to_str,
    restricted,
    send_error_kind,
    str_to_jid,
    translate_call,
    translate_group_event,
    translate_group_info,
    translate_signal,
)

logger = logging.getLogger(__name__)

PRIMARY_SEEN_EVERY = 60.0  # seconds: signs of the phone (device 0) are handed on at most this often
RECENT_MESSAGES = 512  # incoming events kept to quote them in replies
_MENTION = re.compile(r"@(\d{5,16})\b")
_GO_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}


# -- the transport ------------------------------------------------------------------------------------------
class NeonizeTransport(GroupPictures, NeonizeActions, Transport):
    """One WhatsApp session through neonize; ``connect()`` blocks until ``stop()`` or a failed dial."""

    supports_liveness = True

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
        self._primary_seen_at = -PRIMARY_SEEN_EVERY
        from bot.transport.neonize.liveness import Prober

        self._prober = Prober(self.client, me=self.me, deliver=self._raw.put)
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
            UndecryptableMessageEv,  # counted (a rise after a restore means a stale store), no state
        ):
            self.client.event(event_class)(self._handle_connection_event)
        self.client.event(MessageEv)(self._handle_message_event)
        self.client.event(CallOfferEv)(self._handle_message_event)
        self.client.event(GroupInfoEv)(self._handle_group_event)
        self.client.event(JoinedGroupEv)(self._handle_joined_group)
        self.client.event(ReceiptEv)(self._handle_receipt)
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

    def _handle_receipt(self, client: Any, ev: Any) -> None:
        """Our own primary phone's receipts (it read or played something) are signs that it is online."""
        try:
            source = ev.MessageSource
            if source.IsFromMe and source.Sender.Device == 0:
                self._primary_sign("receipt")
        except Exception:
            logger.exception("reading a receipt failed", extra={"session": self.session_name})

    def _primary_sign(self, how: str) -> None:
        now = time.monotonic()
        if now - self._primary_seen_at >= PRIMARY_SEEN_EVERY:
            self._primary_seen_at = now
            self._raw.put(PrimarySeen(how=how))

    def probe(self, token: str) -> None:
        self._prober.probe(token)

    def _translate_loop(self) -> None:
        while True:
            item = self._raw.get()
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                if isinstance(item, LivenessPong | PrimarySeen):
                    self.on_liveness(item)
                    continue
                if isinstance(item, GroupInfoEv):
                    self.on_group_change(translate_group_event(item))
                    continue
                if isinstance(item, CallOfferEv):
                    self.on_call(translate_call(item))
                    continue
                message = translate_inbound(item)  # a message, or a delete / edit of one
                source = item.Info.MessageSource
                if source.IsFromMe and source.Sender.Device == 0:  # typed on the primary phone
                    self._primary_sign("message")
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
        """The ``waE2E.Message`` for a text, media, reaction, delete or poll reply (media is uploaded here)."""
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
        if reply.kind == "poll":
            return self._poll_message(reply, self._quote(reply))
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
                return group_action_send(self.client, reply)
            response = self.client.send_message(str_to_jid(reply.chat), self.build(reply))
        except NeonizeError as exc:
            error = str(exc)
            raise TransportError(error, restricted=restricted(error), kind=send_error_kind(error)) from exc
        return SendResult(id=response.ID, detail={"server_id": response.ServerID})

    def download_media(self, ref: MediaRef, *, dest: Path, max_bytes: int) -> int:
        from bot.transport.neonize.incoming_media import media_download

        return media_download(self.client, ref, dest=dest, max_bytes=max_bytes)

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
