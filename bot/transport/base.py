"""The transport seam.

Everything above this line (router, commands, runtime) speaks only these dataclasses; everything
below it (neonize, the console, the in-memory test double) translates to and from them. Nothing
above the seam imports neonize.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from bot.reasons import SEND_ERROR_KINDS
from media_cdn.media import Media  # noqa: F401 - the seam re-exports it

SESSION_TRANSPORTS = frozenset({"neonize"})  # transport names that use a WhatsApp session (lease, store, backups)

USER_SERVER = "s.whatsapp.net"
GROUP_SERVER = "g.us"
LID_SERVER = "lid"
GROUP_PICTURE_ASSET = "@group-picture"  # a media reply's asset meaning "this group's picture" (Transport.group_picture)


def jid_user(jid: str) -> str:
    """'1555123:4@s.whatsapp.net' -> '1555123' (device and agent stripped)."""
    user = jid.split("@", 1)[0]
    return user.split(":", 1)[0].split(".", 1)[0]


def jid_server(jid: str) -> str:
    return jid.split("@", 1)[1] if "@" in jid else ""


def user_jid(digits: str) -> str:
    return f"{digits}@{USER_SERVER}"


@dataclass(frozen=True)
class MediaRef:
    """Media a message carries or quotes, not downloaded yet: what the sender says it is, and the
    transport's own handle to fetch it with ``Transport.download_media``.

    ``kind`` is image, video, sticker, audio or document; ``size`` the bytes the sender declared (0:
    unknown), so an oversized file is refused before it is fetched.
    """

    kind: str
    mimetype: str = ""
    size: int = 0
    width: int = 0
    height: int = 0
    seconds: int = 0
    animated: bool = False  # an animated sticker, or a video that loops like a GIF
    handle: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class IncomingMessage:
    """One message as the bot sees it, whatever the transport."""

    id: str
    chat: str  # '<id>@g.us' for a group, '<digits>@s.whatsapp.net' or '<id>@lid' for a private chat
    sender: str  # non-AD JID of the author (may be a LID)
    text: str
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))  # UTC, aware
    sender_alt: str = ""  # the other identity of the sender (phone JID for a LID sender), '' if unknown
    is_group: bool = False
    from_me: bool = False
    push_name: str = ""
    mentions: tuple[str, ...] = ()
    quoted_id: str = ""
    quoted_sender: str = ""
    kind: str = "text"  # text, image, video, sticker, audio, document, reaction, other
    raw: Any = field(default=None, compare=False, repr=False)  # the transport's own event, for replies
    view_once: bool = False  # a view-once message: never kept anywhere (the message cache skips it)
    media: MediaRef | None = None  # the media of this message (its caption is ``text``)
    quoted_media: MediaRef | None = None  # the media of the message this one replies to

    @property
    def sender_phone(self) -> str:
        """The sender's phone number digits, through sender_alt for a LID sender; '' if unknown."""
        for jid in (self.sender, self.sender_alt):
            if jid and jid_server(jid) == USER_SERVER:
                return jid_user(jid)
        return ""


@dataclass(frozen=True)
class MessageRevoked:
    """Someone deleted a message for everyone (WhatsApp's REVOKE protocol message).

    ``sender`` deleted it; ``target_id`` is the deleted message's id and ``target_sender`` its
    author as the revoke's key names it ('' when the key does not say: the revoker's own message).
    In a group an admin may delete a member's message, so the two may differ.
    """

    id: str  # the revoke's own message id
    chat: str
    sender: str
    target_id: str
    target_sender: str = ""
    sender_alt: str = ""
    is_group: bool = False
    from_me: bool = False
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class MessageEdited:
    """Someone edited a message they sent: ``text`` is the new text of message ``target_id``."""

    id: str  # the edit's own message id
    chat: str
    sender: str
    target_id: str
    text: str
    sender_alt: str = ""
    is_group: bool = False
    from_me: bool = False
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))


HistoryEvent = MessageRevoked | MessageEdited  # delivered through ``on_message`` like a message


@dataclass(frozen=True)
class IncomingCall:
    """A call offer; ``caller`` keeps its device (the reject needs it), ``caller_alt``: a LID's phone JID."""

    id: str
    caller: str
    caller_alt: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def caller_phone(self) -> str:
        """The caller's phone digits ('' when only a LID is known)."""
        return next((jid_user(j) for j in (self.caller, self.caller_alt) if jid_server(j) == USER_SERVER), "")

    @property
    def chat(self) -> str:
        """The private chat to write to: the phone JID when known, else the caller's non-AD JID."""
        phone = self.caller_phone
        return user_jid(phone) if phone else f"{jid_user(self.caller)}@{jid_server(self.caller)}"


@dataclass(frozen=True)
class ConnectionSignal:
    """A connection-level event from the transport, already translated.

    kind is one of: connected, disconnected, keepalive_timeout, keepalive_restored, logged_out,
    stream_replaced, temporary_ban, connect_failure, client_outdated, stream_error, connect_error,
    qr, pair_code, pair_success, pair_error; and undecryptable (a message came that could not be
    read, ``reason`` unavailable or failed: it changes no state, it is counted).
    """

    kind: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class LivenessPong:
    """The answer to ``Transport.probe(token)``: WhatsApp's servers answered a query of ours.

    It travels the path messages travel (the transport's thread, the inbox, a dispatcher), so an
    answer proves the socket both ways and our own pipeline; ``primary_linked`` says whether the
    account's primary phone (device 0) is still among its devices (None: unknown).
    """

    token: str
    primary_linked: bool | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class PrimarySeen:
    """The account's primary phone did something we saw (``how``: message, receipt, probe)."""

    how: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class GroupChange:
    """Membership or metadata change of a group (join, leave, promote, demote, name, topic...)."""

    chat: str
    actor: str = ""
    joined: tuple[str, ...] = ()
    left: tuple[str, ...] = ()
    promoted: tuple[str, ...] = ()
    demoted: tuple[str, ...] = ()
    name: str | None = None
    topic: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Participant:
    jid: str
    phone: str = ""  # digits, when known
    lid: str = ""
    is_admin: bool = False
    is_super_admin: bool = False
    name: str = ""  # the display name WhatsApp gives, when it gives one

    @property
    def admin(self) -> bool:
        return self.is_admin or self.is_super_admin


@dataclass(frozen=True)
class GroupInfo:
    chat: str
    name: str = ""
    topic: str = ""
    announce: bool = False
    locked: bool = False
    participants: tuple[Participant, ...] = ()

    def is_admin(self, *jids_or_digits: str) -> bool:
        """True when any of the given identities (JID or digits) is an admin of the group."""
        wanted = {jid_user(j) for j in jids_or_digits if j}
        for p in self.participants:
            if p.admin and ({jid_user(p.jid), jid_user(p.lid) if p.lid else "", p.phone} & wanted):
                return True
        return False


ReplyKind = Literal["text", "video", "image", "sticker", "reaction", "group", "delete", "poll"]


@dataclass(frozen=True)
class Reply:
    """One outgoing action, produced by a handler and executed by the transport.

    - text: ``text`` (+ ``mentions``), quoting ``reply_to`` when set.
    - video / image / sticker: ``asset`` names a media_cdn asset (resolved before sending into
      ``media``), ``text`` is the caption; video with ``gif_playback`` loops like a GIF.
    - reaction: ``emoji`` on message ``reply_to`` from ``target`` (the original sender).
    - group: ``action`` (add, remove, promote, demote, name, topic, announce, unannounce,
      revoke_link) with ``targets`` or ``text``.
    - delete: revoke message ``reply_to`` sent by ``target``.
    - poll: a WhatsApp poll named ``text`` with the answers ``options`` (one choice per voter).

    ``message_id``, when set, is the id to send it under: the outbox fixes and stores it before the
    send, so a resend after a crash is the same message. Only a transport whose
    ``fixes_message_ids`` is true honours it (neonize 0.5.2's ``send_message`` takes no id).
    """

    kind: ReplyKind
    chat: str
    text: str = ""
    mentions: tuple[str, ...] = ()
    reply_to: str = ""
    target: str = ""
    asset: str = ""
    media: Media | None = None
    gif_playback: bool = False
    emoji: str = ""
    action: str = ""
    targets: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    message_id: str = ""


@dataclass(frozen=True)
class SendResult:
    id: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    detail: dict[str, Any] = field(default_factory=dict)


class TransportError(Exception):
    """A send or query failed. ``restricted`` marks WhatsApp refusing sends (rate limit, ban);
    ``kind`` is one of ``SEND_ERROR_KINDS``."""

    def __init__(self, message: str, *, restricted: bool = False, kind: str = "other") -> None:
        super().__init__(message)
        self.restricted = restricted
        self.kind = kind if kind in SEND_ERROR_KINDS else "other"


class MediaDownloadError(TransportError):
    """Media could not be fetched; ``too_large`` when it is over the size the caller allows."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


MessageHandler = Callable[[IncomingMessage | HistoryEvent], None]
SignalHandler = Callable[[ConnectionSignal], None]
GroupHandler = Callable[[GroupChange], None]
LivenessHandler = Callable[[LivenessPong | PrimarySeen], None]
CallHandler = Callable[[IncomingCall], None]


class Transport(abc.ABC):
    """What the runtime needs from a WhatsApp connection.

    Handlers are registered before ``connect()``; a transport calls them from its own thread and
    they must return quickly (the runtime queues the work).
    """

    # True when ``send`` delivers a reply under its ``message_id`` (a resend of the same id is one message).
    fixes_message_ids: bool = False
    # True when ``probe`` makes a real round trip through WhatsApp (the runtime then watches liveness).
    supports_liveness: bool = False

    def __init__(self) -> None:
        self.on_message: MessageHandler = lambda message: None
        self.on_signal: SignalHandler = lambda signal: None
        self.on_group_change: GroupHandler = lambda change: None
        self.on_liveness: LivenessHandler = lambda item: None
        self.on_call: CallHandler = lambda call: None

    def set_handlers(
        self,
        *,
        on_message: MessageHandler,
        on_signal: SignalHandler,
        on_group_change: GroupHandler | None = None,
        on_liveness: LivenessHandler | None = None,
        on_call: CallHandler | None = None,
    ) -> None:
        self.on_message = on_message
        self.on_signal = on_signal
        if on_call is not None:
            self.on_call = on_call
        if on_group_change is not None:
            self.on_group_change = on_group_change
        if on_liveness is not None:
            self.on_liveness = on_liveness

    def probe(self, token: str) -> None:  # noqa: B027 - optional
        """Start one round trip through WhatsApp; its answer arrives as ``on_liveness(LivenessPong(token))``.

        Returns at once (the query runs elsewhere); no answer at all is the failure the runtime counts.
        """

    @property
    def finished(self) -> bool:
        """True once ``connect()`` returned because the input ran out (console): no reconnect, drain and exit."""
        return False

    def healthy(self) -> bool:
        """A cheap liveness check while connected (the runtime counts it as progress); True by default."""
        return True

    @abc.abstractmethod
    def connect(self) -> None:
        """Connect and deliver events until stopped. Blocks; may raise on a failed dial."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Disconnect; ``connect()`` returns soon after."""

    @abc.abstractmethod
    def send(self, reply: Reply) -> SendResult:
        """Carry out one action. Raises TransportError."""

    def send_presence(self, chat: str, *, composing: bool) -> None:  # noqa: B027 - optional
        """Typing indicator; transports without one ignore it."""

    def group_picture(self, chat: str) -> Media | None:
        """The group's picture as an image to send (a network call), or None when it has none or it failed."""
        return None

    def download_media(self, ref: MediaRef, *, dest: Path, max_bytes: int) -> int:
        """Write the media ``ref`` points at to ``dest`` (at most ``max_bytes``); returns the bytes written.

        Raises MediaDownloadError (``too_large`` past ``max_bytes``, checked before fetching when the
        size is declared); ``dest`` is left empty or partial only on error, for the caller to remove.
        """
        raise MediaDownloadError("this transport cannot download media")

    def reject_call(self, call: IncomingCall) -> None:  # noqa: B027 - optional, as the next two
        """Decline an incoming call (these three raise TransportError when WhatsApp refuses)."""

    def mark_read(self, message: IncomingMessage) -> None:  # noqa: B027
        """A read receipt for ``message`` (blue ticks; a status update counts as viewed)."""

    def announce_presence(self, *, online: bool) -> None:  # noqa: B027
        """The account's presence: online, or unavailable (the phone keeps its notifications)."""

    @abc.abstractmethod
    def group_info(self, chat: str) -> GroupInfo:
        """Group metadata (a network call on the real transport: callers cache it)."""

    @abc.abstractmethod
    def me(self) -> str:
        """The bot's own JID ('' before pairing)."""
