"""neonize's protobuf events -> the seam's dataclasses (messages, connection signals, group events).

Pure translation, no client: run on Go's event thread, so it must never block and never raise
past the transport's handlers. Fuzzed with real protobuf messages (tests/reliability).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from neonize.events import (
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    KeepAliveRestoredEv,
    KeepAliveTimeoutEv,
    LoggedOutEv,
    PairStatusEv,
    StreamErrorEv,
    StreamReplacedEv,
    TemporaryBanEv,
    UndecryptableMessageEv,
)
from neonize.proto import Neonize_pb2 as neonize_proto
from neonize.proto.Neonize_pb2 import JID
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import ContextInfo, Message
from neonize.utils.jid import Jid2String

from bot.transport.base import (
    GROUP_SERVER,
    LID_SERVER,
    USER_SERVER,
    ConnectionSignal,
    GroupChange,
    GroupInfo,
    IncomingCall,
    IncomingMessage,
    Participant,
    TransportError,
    jid_server,
)
from bot.transport.neonize.incoming_media import media_ref, view_once


def _installed_version() -> str:
    try:
        return metadata.version("neonize")
    except metadata.PackageNotFoundError:
        return "unknown"


#: The neonize in use: an outdated-client signal carries it, so the operator reads what to upgrade from.
NEONIZE_VERSION = _installed_version()
_OUTDATED_FAILURES = frozenset({"client_outdated", "bad_user_agent"})
# whatsmeow's words for them: "info query returned status 429: rate-overlimit", "server returned error 463".
_RATE_OVERLIMIT = re.compile(r"rate-overlimit|(?<!\d)429(?!\d)")
_REACHOUT_TIMELOCK = re.compile(r"reach-?out|timelock|(?<!\d)463(?!\d)", re.IGNORECASE)
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
    quoted_media = None
    if context is not None:
        mentions = tuple(m for m in context.mentionedJID if m)
        quoted_id = context.stanzaID
        if context.participant:
            quoted_sender = non_ad(context.participant)
        if context.HasField("quotedMessage") and not view_once(context.quotedMessage):
            quoted_media = media_ref(unwrap(context.quotedMessage))
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
        media=None if view_once(ev.Message) or ev.IsViewOnce else media_ref(inner),
        quoted_media=quoted_media,
    )


def translate_call(ev: Any) -> IncomingCall:
    """``CallOfferEv`` -> ``IncomingCall``: the creator (device kept, as the reject needs it) and its other identity."""
    meta = ev.basicCallMeta
    creator = meta.callCreator if meta.callCreator.User else getattr(meta, "from")  # 'from' is a Python keyword
    alt = meta.callCreatorAlt if meta.callCreatorAlt.User else None
    return IncomingCall(
        id=meta.callID,
        caller=jid_to_str(creator, keep_device=True),
        caller_alt=jid_to_str(alt) if alt is not None else "",
        at=ms_to_datetime(meta.timestamp),
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
        reason = _reason_name(ev.Reason)
        detail: dict[str, Any] = {"message": ev.Message[:200]}
        if reason in _OUTDATED_FAILURES:
            detail["neonize_version"] = NEONIZE_VERSION
        return ConnectionSignal(kind="connect_failure", reason=reason, detail=detail)
    if isinstance(ev, ClientOutdatedEv):
        return ConnectionSignal(kind="client_outdated", detail={"neonize_version": NEONIZE_VERSION})
    if isinstance(ev, StreamErrorEv):
        return ConnectionSignal(kind="stream_error", reason=ev.Code[:32])
    if isinstance(ev, UndecryptableMessageEv):
        source = ev.Info.MessageSource
        return ConnectionSignal(
            kind="undecryptable",
            reason="unavailable" if ev.IsUnavailable else "failed",
            detail={
                "id": ev.Info.ID,
                "chat": jid_to_str(source.Chat),
                "sender": jid_to_str(source.Sender),
                "hidden": ev.DecryptFailMode == UndecryptableMessageEv.DecryptFailModeT.DECRYPT_FAIL_HIDE,
            },
        )
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
            Participant(
                jid=jid, phone=phone, lid=lid, is_admin=p.IsAdmin, is_super_admin=p.IsSuperAdmin, name=p.DisplayName
            )
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


def send_error_kind(error: str) -> str:
    """Which ``SEND_ERROR_KINDS`` a failed send's error is: the rate limit, the reach-out timelock, or other."""
    if _RATE_OVERLIMIT.search(error.lower()):
        return "rate_overlimit"
    if _REACHOUT_TIMELOCK.search(error):
        return "reachout_timelock"
    return "other"
