"""The router: one incoming message in, the replies to send out.

Order of checks (each refusal is cheap and none raises):

1. each message id once (WhatsApp redelivers), never the echo of our own sends; ids answered before a restart
   are looked up in the persisted handled ids (``answered_before``) once a reply is possible; a status
   update never runs a command (it may be marked viewed: ``bot.dispatch.receipts``);
2. the history keeper sees the message (anti-delete/anti-edit chats), group bookkeeping, then the moderation rules
   (``moderator``), then ``.afk`` (``bot.dispatch.afk``);
3. the prefix (plain chat: only keyword filters answer it); our own account's messages only for an owner's command typed on the phone;
4. banned users are ignored, maintenance mode answers non-owners with one notice, a private bot
   (``BOT_MODE``) ignores all but owners and sudo users (``bot.dispatch.access``);
5. the command (names and aliases, case-insensitive); an unknown one gets a hint at most once a minute per user;
6. where (group/private), who (owner, sudo, group admin, from the cached group metadata), must the bot be admin;
7. per-user rate limit and per-command cooldown (owners exempt), one polite notice per streak;
8. the handler, in a try/except: a crash becomes a short apology and a logged trace.

The router returns replies; the runtime queues them in the outbox (``bot.outbox``) and its sender
sends them through ``router.outbound`` (paced). Group changes go through ``handle_group_change``, calls
through ``handle_call`` (``bot.dispatch.calls``).
"""

from __future__ import annotations

import difflib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bot import runtime_settings
from bot.dispatch.access import Access, Refusal, place_and_permission_check
from bot.dispatch.activity import ActivityCounter
from bot.dispatch.afk import AwayBook
from bot.dispatch.calls import CallGuard, CallPolicy
from bot.dispatch.context import context_build
from bot.dispatch.filters import FilterBook
from bot.dispatch.groups import GroupCache
from bot.dispatch.history import HistoryKeeper
from bot.dispatch.limits import OncePer, UserLimits
from bot.dispatch.moderator import Moderator
from bot.dispatch.outbound import Outbound
from bot.dispatch.parsing import ParsedCommand, parse_command
from bot.dispatch.receipts import STATUS_CHAT, ReceiptPolicy
from bot.dispatch.registry import CommandSpec, Registry
from bot.dispatch.results import DispatchResult, as_list
from bot.dispatch.state import ChatState
from bot.dispatch.stats import StatsCollector
from bot.dispatch.welcome import group_change_replies
from bot.transport.base import GroupChange, GroupInfo, IncomingCall, IncomingMessage, Reply, Transport, jid_user

log = logging.getLogger(__name__)

SEEN_IDS_KEPT = 5000
APOLOGY = gettext_lazy("Sorry, something went wrong while running that command. It has been logged.")


class Router:
    def __init__(
        self,
        *,
        transport: Transport,
        session_name: str,
        registry: Registry,
        outbound: Outbound,
        state: ChatState,
        groups: GroupCache,
        limits: UserLimits,
        owners: Iterable[str] = (),
        bot_name: str = "BLACKSKY-MD",
        clock: Callable[[], float] = time.monotonic,
        stats: StatsCollector | None = None,
        rng: random.Random | None = None,
        hint_interval: float = 60.0,
        notice_interval: float = 600.0,
        answered_before: Callable[[str], bool] | None = None,
        live_settings: bool = False,
        history: HistoryKeeper | None = None,
        moderator: Moderator | None = None,
        away: AwayBook | None = None,
        calls: CallPolicy | None = None,
    ) -> None:
        self.transport = transport
        self.session_name = session_name
        self.registry = registry
        self.outbound = outbound
        self.state = state
        self.groups = groups
        self.limits = limits
        self._owners = frozenset(o for o in owners if o)
        self._bot_name = bot_name
        self.live_settings = live_settings  # owners, name and limits read through bot.runtime_settings
        self.clock = clock
        self.stats = stats if stats is not None else StatsCollector(session_name=session_name)
        self.rng = rng if rng is not None else random.Random()
        self.started_at = clock()
        self._seen: set[str] = set()
        self._seen_order: deque[str] = deque()
        self._seen_lock = threading.Lock()
        self.answered_before = answered_before or (lambda message_id: False)
        self.history = history  # anti-delete / anti-edit: keeps messages, answers deletes and edits
        self.activity = ActivityCounter(session_name=session_name, clock=clock)  # .top, .inactive
        self.filters = FilterBook(session_name=session_name, clock=clock)  # keyword filters
        self._hints = OncePer(interval=hint_interval, clock=clock)
        self._notices = OncePer(interval=notice_interval, clock=clock)
        self.away = away if away is not None else AwayBook(session_name=session_name, clock=clock)
        self._calls = calls or CallPolicy(owners=self._owners)
        policy = lambda: CallPolicy.read(self._value) if self.live_settings else self._calls  # noqa: E731
        self.calls = CallGuard(session_name=session_name, transport=transport, policy=policy, stats=self.stats)
        self.moderator = moderator or Moderator.built(
            session_name=session_name, groups=groups, bot_jid=self.bot_jid, owners=self._exempt, clock=clock
        )
        self.stats.also_flush.append(self.moderator.flush_counts)

    # -- identity -----------------------------------------------------------------------------------
    @property
    def owners(self) -> frozenset[str]:
        if not self.live_settings:
            return self._owners
        return frozenset(o for o in runtime_settings.runtime_value("OWNER_NUMBERS", session=self.session_name) if o)

    @property
    def bot_name(self) -> str:
        if not self.live_settings:
            return self._bot_name
        return runtime_settings.runtime_value("BOT_NAME", session=self.session_name)

    def _value(self, name: str) -> object:
        return runtime_settings.runtime_value(name, session=self.session_name)

    @property
    def access(self) -> Access:
        """Owners, SUDO_NUMBERS and BOT_MODE, as this session has them now."""
        return Access.read(self._value) if self.live_settings else Access.build(owners=self._owners)

    @property
    def receipts(self) -> ReceiptPolicy:
        return ReceiptPolicy.read(self._value) if self.live_settings else ReceiptPolicy()

    def _exempt(self) -> frozenset[str]:
        """Who the moderation rules never touch beside group admins: owners and sudo users."""
        access = self.access
        return access.owners | access.sudo

    def is_owner(self, message: IncomingMessage) -> bool:
        """Exact match of the sender's phone digits (through sender_alt for a LID) on OWNER_NUMBERS."""
        return self.access.is_owner(message.sender_phone)

    def bot_jid(self) -> str:
        try:
            return self.transport.me()
        except Exception:
            return ""

    def _first_time(self, message_id: str) -> bool:
        if not message_id:
            return True
        with self._seen_lock:  # two dispatcher threads may get the same redelivered id
            if message_id in self._seen:
                return False
            self._seen.add(message_id)
            self._seen_order.append(message_id)
            if len(self._seen_order) > SEEN_IDS_KEPT:
                self._seen.discard(self._seen_order.popleft())
        return True

    # -- messages -------------------------------------------------------------------------------------
    def handle(self, message: IncomingMessage) -> DispatchResult:
        """Decide what to answer, in the chat's language; never raises."""
        try:
            self.state.refresh_if_stale()
            with translation.override(self.state.language(message.chat)):
                return self._handle(message)
        except Exception:
            log.exception("router failed on a message", extra={"session": self.session_name, "msg_id": message.id})
            self.stats.error()
            return DispatchResult(error=True, reason="router_error")

    def _handle(self, message: IncomingMessage) -> DispatchResult:
        self.stats.incoming()
        if not self._first_time(message.id):
            return DispatchResult(reason="duplicate")
        if message.from_me and self.outbound.was_sent_by_us(message.id):
            return DispatchResult(reason="own")
        if message.chat == STATUS_CHAT:
            return DispatchResult(reason="status", read=self.receipts.view_status(message))
        self.state.refresh_if_stale()
        if self.history is not None:
            self.history.observe(message)
        phone = message.sender_phone
        access = self.access
        privileged = access.privileged(phone)
        if message.is_group:
            self.state.remember_group(message.chat)
            self.groups.note_member(message.chat, message.sender, phone=phone)
            self.activity.count(message)
            if not message.from_me and not privileged and self.moderator.watches(message.chat):
                if self.answered_before(message.id):
                    return DispatchResult(reason="duplicate")
                replies = self.moderator.on_message(message, owner=privileged)
                if replies:
                    return DispatchResult(replies=replies, reason="moderation")
        user = phone or jid_user(message.sender)
        away = self.away.replies(message, user=user)
        result = self._command(message, user=user, access=access)
        if (
            away
            and result.reason != "duplicate"
            and not (result.reason == "no_prefix" and self.answered_before(message.id))
        ):
            result.replies[:0] = away
        return result

    def _command(self, message: IncomingMessage, *, user: str, access: Access) -> DispatchResult:
        parsed = parse_command(message.text, self.state.prefix)
        if parsed is None:
            answer = self.filters.match(chat=message.chat, text=message.text, from_me=message.from_me)
            if answer is None or self.answered_before(message.id):
                return DispatchResult(reason="no_prefix")
            return DispatchResult(replies=[self._text(message, answer)], reason="filter")
        if self.answered_before(message.id):
            return DispatchResult(reason="duplicate")
        owner, privileged = access.is_owner(message.sender_phone), access.privileged(message.sender_phone)
        if message.from_me and not owner:
            return DispatchResult(reason="own")
        if not privileged and self.state.is_banned(user):
            return DispatchResult(reason="banned")
        if not privileged and self.state.maintenance:
            text = _("%(bot)s is under maintenance right now. Please try again later.") % {"bot": self.bot_name}
            return self._notice(message, ("maintenance", user), text, reason="maintenance")
        if not privileged and access.private:
            return DispatchResult(reason="private")

        spec = self.registry.lookup(parsed.word)
        if spec is None:
            return self._unknown(message, parsed, user)

        checked = place_and_permission_check(message, spec, access=access, groups=self.groups, bot_jid=self.bot_jid)
        if isinstance(checked, Refusal):
            return self._refuse(message, spec, checked.text, checked.reason)
        group = checked

        if not privileged:
            if self.live_settings:
                self.limits.retune(
                    per_minute=runtime_settings.runtime_value("USER_COMMANDS_PER_MINUTE", session=self.session_name),
                    burst=runtime_settings.runtime_value("USER_COMMANDS_BURST", session=self.session_name),
                )
            verdict = self.limits.check(user, spec.name, spec.cooldown)
            if not verdict.allowed:
                if not verdict.notify:
                    return DispatchResult(matched=spec.name, reason=verdict.reason)
                wait = max(1, round(verdict.retry_after))
                if verdict.reason == "cooldown":
                    text = _("Please wait %(wait)ss before using %(command)s again.") % {
                        "wait": wait,
                        "command": parsed.prefix + spec.name,
                    }
                else:
                    text = _("You're sending commands too fast. Please wait %(wait)ss.") % {"wait": wait}
                return DispatchResult(replies=[self._text(message, text)], matched=spec.name, reason=verdict.reason)

        result = self._run(message, spec, parsed, owner=owner, group=group)
        if not privileged and (result.error or result.wrong_usage):
            self.limits.cooldown_clear(user, spec.name)  # only a run that did its work counts
        result.read = self.receipts.commands
        return result

    def _refuse(self, message: IncomingMessage, spec: CommandSpec, text: str, reason: str) -> DispatchResult:
        return DispatchResult(replies=[self._text(message, text)], matched=spec.name, reason=reason)

    def _unknown(self, message: IncomingMessage, parsed: ParsedCommand, user: str) -> DispatchResult:
        if not self._hints.allow(("unknown", user)):
            return DispatchResult(reason="unknown")
        names = [name for spec in self.registry.specs() for name in spec.names()]
        close = difflib.get_close_matches(parsed.word, names, n=1, cutoff=0.75)
        names = {"command": parsed.prefix + parsed.word[:64], "menu": parsed.prefix + "menu"}
        if close:
            names["close"] = parsed.prefix + close[0]
            text = _("Unknown command %(command)s. Did you mean %(close)s? Send %(menu)s for the list.") % names
        else:
            text = _("Unknown command %(command)s. Send %(menu)s for the list.") % names
        return DispatchResult(replies=[self._text(message, text)], reason="unknown")

    def _notice(self, message: IncomingMessage, key: tuple[str, str], text: str, *, reason: str) -> DispatchResult:
        if not self._notices.allow(key):
            return DispatchResult(reason=reason)
        return DispatchResult(replies=[self._text(message, text)], reason=reason)

    def _text(self, message: IncomingMessage, text: str) -> Reply:
        return Reply(kind="text", chat=message.chat, text=text, reply_to=message.id, target=message.sender)

    def _run(
        self,
        message: IncomingMessage,
        spec: CommandSpec,
        parsed: ParsedCommand,
        *,
        owner: bool,
        group: GroupInfo | None,
    ) -> DispatchResult:
        if group is None and message.is_group:
            group = self.groups.peek(message.chat)
        ctx = context_build(self, message, spec, parsed, owner=owner, group=group)
        started = time.perf_counter()
        try:
            handler = self.registry.handler(spec.name, now=self.clock())
            produced = handler(ctx)
            replies = as_list(produced)
        except Exception as exc:
            log.exception(
                "command failed",
                extra={"session": self.session_name, "command": spec.name, "chat": message.chat, "msg_id": message.id},
            )
            self.stats.command(spec.name, error=True)
            apology = [
                self._text(message, str(APOLOGY)),
                *getattr(exc, "notices", ()),
            ]  # a pack turned off tells the owners
            return DispatchResult(replies=apology, command=spec.name, matched=spec.name, error=True, reason="error")
        self.stats.command(spec.name)
        if log.isEnabledFor(logging.INFO):  # what the bot is doing, for the operator; never the text itself
            log.info(
                "command",
                extra={
                    "session": self.session_name,
                    "command": spec.name,
                    "chat": message.chat,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "replies": len(replies),
                },
            )
        return DispatchResult(replies=replies, command=spec.name, matched=spec.name, wrong_usage=ctx.wrong_usage)

    # -- group changes ------------------------------------------------------------------------------------
    def handle_group_change(self, change: GroupChange) -> DispatchResult:
        """Keep the group cache current; welcome, goodbye and role notices when the group wants them."""
        try:
            return self._group_change(change)
        except Exception:
            log.exception("router failed on a group change", extra={"session": self.session_name, "chat": change.chat})
            return DispatchResult(error=True, reason="router_error")

    def _group_change(self, change: GroupChange) -> DispatchResult:
        with translation.override(self.state.language(change.chat)):
            me = jid_user(self.bot_jid())
            replies, reason = group_change_replies(
                change, groups=self.groups, state=self.state, me=me, moderator=self.moderator
            )
        return DispatchResult(replies=replies, reason=reason)

    # -- calls --------------------------------------------------------------------------------------------
    def handle_call(self, call: IncomingCall) -> DispatchResult:
        """Anti-call: reject, count, and tell the caller why at most once an hour; never raises."""
        try:
            replies, reason = self.calls.handle(call)
        except Exception:
            log.exception("router failed on a call", extra={"session": self.session_name})
            return DispatchResult(error=True, reason="router_error")
        return DispatchResult(replies=replies, reason=reason)

    # -- memory ---------------------------------------------------------------------------------------------
    def shedders(self, *, idle_seconds: float = 600.0) -> dict[str, Callable[[], int]]:
        """What the memory guard may drop at the soft limit: the group cache, modules idle for ``idle_seconds``."""
        return {
            "group_cache": self.groups.clear,
            "command_modules": lambda: len(self.registry.unload_idle(idle_seconds=idle_seconds, now=self.clock())),
        }

    # -- convenience for the runtime ------------------------------------------------------------------------
    def handle_and_send(self, message: IncomingMessage) -> DispatchResult:
        """``handle`` then send every reply through the paced outbound."""
        result = self.handle(message)
        for reply in result.replies:
            self.outbound.send(reply)
        if result.read:
            self.transport.mark_read(message)
        return result
