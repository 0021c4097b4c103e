"""Everything the bot sends goes through here: pacing, typing, pauses, media resolution.

``Outbound.attempt(reply)`` is one try, called by the child's outbox sender (``bot.child.sending``),
which decides from its ``Attempt`` what becomes of the stored item; ``send(reply)`` sends at once
for the few actions whose answer a handler needs. Either way it:

1. refuses (``paused``; ``send`` returns None with one log line) while sending is paused -- after a temporary ban or a
   ``TransportError(restricted=True)``: sending more then is what gets a number banned for good;
2. resolves a media reply that names an ``asset`` but carries no bytes through
   ``media_cdn.resolver.resolve_media`` (imported lazily), or the group's picture from the transport
   for ``GROUP_PICTURE_ASSET``, or, for media the bot made for the reply (``made:<id>``, a sticker),
   through ``bot.made_media`` (the row goes once the reply is sent); when that is missing or finds
   nothing the caption goes out as text instead;
3. shows "typing..." in the chat (text and media only) and waits for the global and per-chat
   token buckets (``bot.dispatch.limits``), so a burst of replies is spread out, never dropped;
4. sends through the transport; a failure is logged, never raised (the bot loop goes on).

``clock`` and ``sleep`` are injected so tests move time without sleeping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.dispatch.limits import OutboundLimits, PacingConfig
from bot.transport.base import GROUP_PICTURE_ASSET, ConnectionSignal, Reply, SendResult, Transport, TransportError

log = logging.getLogger(__name__)

MEDIA_KINDS = frozenset({"video", "image", "sticker"})
TYPING_KINDS = frozenset({"text", "video", "image", "sticker"})
RESTRICTED_PAUSE_SECONDS = 300.0  # first pause after a send-restriction error; doubles, capped
RESTRICTED_PAUSE_MAX_SECONDS = 6 * 3600.0
TEMPORARY_BAN_DEFAULT_SECONDS = 3600.0
_SENT_IDS_KEPT = 2000


@dataclass(frozen=True)
class Attempt:
    """How one try at sending went: sent, paused, deferred (past the deadline), retry (a transport
    error worth another try), failed (a bug or bad content: never retried) or gone (the item left
    the queue meanwhile)."""

    state: str
    result: SendResult | None = None
    error: str = ""
    error_kind: str = ""  # for retry and failed: one of the seam's SEND_ERROR_KINDS


class Outbound:
    """Paced, pausable sending for one session."""

    def __init__(
        self,
        *,
        transport: Transport,
        session_name: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pacing: PacingConfig | None = None,
        resolve_media: Callable[..., object] | None = None,
    ) -> None:
        self.transport = transport
        self.session_name = session_name
        self.clock = clock
        self.sleep = sleep
        self.pacing = pacing if pacing is not None else PacingConfig.from_settings()
        self.limits = OutboundLimits(self.pacing, clock=clock)
        self._resolve_media = resolve_media
        self._lock = threading.Lock()
        self.paused_until = 0.0
        self.pause_reason = ""
        self._restricted_pause = RESTRICTED_PAUSE_SECONDS
        self.sent_count = 0
        self.failed_count = 0
        self.dropped_count = 0
        self._sent_ids: set[str] = set()
        self._sent_order: deque[str] = deque()

    # -- pausing ------------------------------------------------------------------------------------
    def pause(self, seconds: float, *, reason: str) -> None:
        """Stop all sends for ``seconds`` (extends, never shortens, a running pause)."""
        with self._lock:
            until = self.clock() + max(0.0, seconds)
            if until > self.paused_until:
                self.paused_until = until
                self.pause_reason = reason
        log.warning(
            "outbound paused",
            extra={"session": self.session_name, "reason": reason, "seconds": round(seconds, 1)},
        )

    def resume(self) -> None:
        with self._lock:
            self.paused_until = 0.0
            self.pause_reason = ""
            self._restricted_pause = RESTRICTED_PAUSE_SECONDS

    def is_paused(self) -> bool:
        return self.clock() < self.paused_until

    def on_signal(self, signal: ConnectionSignal) -> None:
        """Connection signals that matter for sending: a temporary ban pauses until it expires."""
        if signal.kind == "temporary_ban":
            expire = signal.detail.get("expire_seconds", signal.detail.get("expire"))
            try:
                seconds = float(expire) if expire is not None else TEMPORARY_BAN_DEFAULT_SECONDS
            except (TypeError, ValueError):
                seconds = TEMPORARY_BAN_DEFAULT_SECONDS
            self.pause(seconds or TEMPORARY_BAN_DEFAULT_SECONDS, reason=f"temporary_ban {signal.reason}".strip())
        elif signal.kind == "connected" and self.pause_reason.startswith("temporary_ban") and not self.is_paused():
            self.resume()

    # -- own messages ---------------------------------------------------------------------------------
    def was_sent_by_us(self, message_id: str) -> bool:
        """True for ids of messages this process sent (their echo must never run as a command)."""
        return message_id in self._sent_ids

    def _remember(self, result: SendResult) -> None:
        self._sent_ids.add(result.id)
        self._sent_order.append(result.id)
        if len(self._sent_order) > _SENT_IDS_KEPT:
            try:
                self._sent_ids.discard(self._sent_order.popleft())
            except IndexError:  # another thread got there first
                pass

    # -- sending ---------------------------------------------------------------------------------------
    def attempt(
        self, reply: Reply, *, deadline: float | None = None, before_send: Callable[[], bool] | None = None
    ) -> Attempt:
        """One paced try at sending ``reply``; never raises. The outbox's sender calls this.

        ``deadline`` (on ``clock``): a pacing wait that would end past it is not waited for
        (``deferred``, nothing sent). ``before_send`` runs right before the transport is called (the
        sender records the attempt there); when it returns False nothing is sent (``gone``).
        """
        if self.paused_until and self.is_paused():
            return Attempt("paused", error=self.pause_reason)
        if reply.kind in MEDIA_KINDS and reply.media is None:
            reply = self._with_media(reply)
        typing = self.pacing.enabled and reply.kind in TYPING_KINDS
        if self.pacing.enabled:
            wait = self.limits.reserve(reply.chat)
            if typing:
                wait = max(wait, self.pacing.typing_seconds)
            if deadline is not None and self.clock() + wait > deadline:
                return Attempt("deferred")
            if typing:
                self._presence(reply.chat, composing=True)
            if wait > 0:
                self.sleep(wait)
            if self.paused_until and self.is_paused():  # paused while we waited
                return Attempt("paused", error=self.pause_reason)
        if before_send is not None and not before_send():
            return Attempt("gone")
        try:
            result = self.transport.send(reply)
        except TransportError as exc:
            self.failed_count += 1
            if exc.restricted:
                with self._lock:
                    seconds = self._restricted_pause
                    self._restricted_pause = min(self._restricted_pause * 2, RESTRICTED_PAUSE_MAX_SECONDS)
                self.pause(seconds, reason="send_restricted")
            log.warning(
                "send failed",
                extra={
                    "session": self.session_name,
                    "chat": reply.chat,
                    "kind": reply.kind,
                    "error": str(exc),
                    "restricted": exc.restricted,
                },
            )
            if typing:
                self._presence(reply.chat, composing=False)
            return Attempt("retry", error=str(exc) or type(exc).__name__, error_kind=exc.kind)
        except Exception as exc:
            self.failed_count += 1
            log.exception("send crashed", extra={"session": self.session_name, "chat": reply.chat, "kind": reply.kind})
            return Attempt("failed", error=f"{type(exc).__name__}: {exc}", error_kind="other")
        self.sent_count += 1
        if result.id:
            self._remember(result)
        if reply.asset.startswith("made:"):
            self._forget_made(reply.asset)
        return Attempt("sent", result=result)

    def send(self, reply: Reply) -> SendResult | None:
        """Send one reply now (paced); None when it was not sent (paused, failed), with a log line saying why.

        Replies go through the outbox; this direct path is for actions whose answer a handler needs
        (an invite link)."""
        outcome = self.attempt(reply)
        if outcome.state == "paused":
            self.dropped_count += 1
            log.warning(
                "reply not sent: outbound paused",
                extra={"session": self.session_name, "chat": reply.chat, "kind": reply.kind, "reason": outcome.error},
            )
        return outcome.result

    def send_all(self, replies: list[Reply]) -> list[SendResult | None]:
        return [self.send(reply) for reply in replies]

    def _presence(self, chat: str, *, composing: bool) -> None:
        try:
            self.transport.send_presence(chat, composing=composing)
        except Exception as exc:  # a typing indicator is never worth a lost reply
            log.debug("presence failed", extra={"chat": chat, "error": str(exc)})

    def _with_media(self, reply: Reply) -> Reply:
        if reply.kind not in MEDIA_KINDS or reply.media is not None:
            return reply
        media = None
        if reply.asset == GROUP_PICTURE_ASSET:
            try:
                media = self.transport.group_picture(reply.chat)
            except Exception:
                log.exception("group picture crashed", extra={"chat": reply.chat})
        elif reply.asset.startswith("made:"):
            from bot.made_media import made_media_load

            media = made_media_load(reply.asset)
        elif reply.asset:
            resolver = self._resolver()
            if resolver is not None:
                try:
                    media = resolver(reply.asset, kind=reply.kind)
                except Exception:
                    log.exception("media resolution crashed", extra={"asset": reply.asset, "kind": reply.kind})
                    media = None
        if media is not None:
            return replace(reply, media=media)
        log.warning(
            "media unavailable, sending the caption as text",
            extra={"session": self.session_name, "asset": reply.asset, "kind": reply.kind, "chat": reply.chat},
        )
        return Reply(
            kind="text",
            chat=reply.chat,
            text=reply.text or f"[{reply.asset}]",
            mentions=reply.mentions,
            reply_to=reply.reply_to,
            message_id=reply.message_id,
        )

    def _forget_made(self, asset: str) -> None:
        """A sent reply's made media is not needed again (retention removes what this misses)."""
        from bot.made_media import made_media_forget

        try:
            made_media_forget(asset)
        except Exception as exc:  # the reply went out; a row left behind is retention's
            log.warning("made media not removed", extra={"asset": asset, "error": str(exc)})

    def _resolver(self) -> Callable[..., object] | None:
        if self._resolve_media is None:
            try:
                from media_cdn.resolver import resolve_media
            except ImportError:
                log.warning("media_cdn.resolver is not available", extra={"session": self.session_name})
                self._resolve_media = _no_media
            else:
                self._resolve_media = resolve_media
        return self._resolve_media


def _no_media(asset: str, *, kind: str) -> None:
    return None
