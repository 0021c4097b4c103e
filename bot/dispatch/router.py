"""The router: one incoming message in, the replies to send out.

Order of checks (each refusal is cheap and none raises):

1. each message id once (WhatsApp redelivers), never the echo of our own sends; ids answered before a restart
   are looked up in the persisted handled ids (``answered_before``) once a reply is possible;
2. the history keeper sees the message (anti-delete/anti-edit chats), group bookkeeping, then the moderation rules (``moderator``);
3. the prefix (plain chat: only keyword filters answer it); our own account's messages only for an owner's command typed on the phone;
4. banned users are ignored, maintenance mode answers non-owners with one notice;
5. the command (names and aliases, case-insensitive); an unknown one gets a hint at most once a minute per user;
6. where (group/private), who (owner/group admin, from the cached group metadata), must the bot be admin;
7. per-user rate limit and per-command cooldown (owners exempt), one polite notice per streak;
8. the handler, in a try/except: a crash becomes a short apology and a logged trace.

The router returns replies; the runtime queues them in the outbox (``bot.outbox``) and its sender
sends them through ``router.outbound`` (paced). Group changes go through ``handle_group_change``.
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
from bot.dispatch.activity import ActivityCounter
from bot.dispatch.context import CommandContext
from bot.dispatch.filters import FilterBook
from bot.dispatch.groups import GroupCache
from bot.dispatch.history import HistoryKeeper
from bot.dispatch.limits import OncePer, UserLimits
from bot.dispatch.moderator import Moderator
from bot.dispatch.outbound import Outbound
from bot.dispatch.parsing import ParsedCommand, parse_command
from bot.dispatch.registry import CommandSpec, Registry
from bot.dispatch.results import DispatchResult, as_list
from bot.dispatch.state import ChatState
from bot.dispatch.stats import StatsCollector
from bot.dispatch.welcome import group_change_replies
from bot.transport.base import GroupChange, GroupInfo, IncomingMessage, Reply, Transport, jid_user

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
        self.moderator = moderator or Moderator.built(
            session_name=session_name, groups=groups, bot_jid=self.bot_jid, owners=lambda: self.owners, clock=clock
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

    def is_owner(self, message: IncomingMessage) -> bool:
        """Exact match of the sender's phone digits (through sender_alt for a LID) on OWNER_NUMBERS."""
        phone = message.sender_phone
        return bool(phone) and phone in self.owners

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
        self.state.refresh_if_stale()
        if self.history is not None:
            self.history.observe(message)
        phone = message.sender_phone
        owner = bool(phone) and phone in self.owners
        if message.is_group:
            self.state.remember_group(message.chat)
            self.groups.note_member(message.chat, message.sender, phone=phone)
            self.activity.count(message)
            if not message.from_me and not owner and self.moderator.watches(message.chat):
                if self.answered_before(message.id):
                    return DispatchResult(reason="duplicate")
                replies = self.moderator.on_message(message, owner=owner)
                if replies:
                    return DispatchResult(replies=replies, reason="moderation")

        parsed = parse_command(message.text, self.state.prefix)
        if parsed is None:
            answer = self.filters.match(chat=message.chat, text=message.text, from_me=message.from_me)
            if answer is None or self.answered_before(message.id):
                return DispatchResult(reason="no_prefix")
            return DispatchResult(replies=[self._text(message, answer)], reason="filter")
        if self.answered_before(message.id):
            return DispatchResult(reason="duplicate")
        if message.from_me and not owner:
            return DispatchResult(reason="own")
        user = phone or jid_user(message.sender)
        if not owner and self.state.is_banned(user):
            return DispatchResult(reason="banned")
        if not owner and self.state.maintenance:
            text = _("%(bot)s is under maintenance right now. Please try again later.") % {"bot": self.bot_name}
            return self._notice(message, ("maintenance", user), text, reason="maintenance")

        spec = self.registry.lookup(parsed.word)
        if spec is None:
            return self._unknown(message, parsed, user)

        refusal = self._check_place_and_permission(message, spec, parsed, owner)
        if isinstance(refusal, DispatchResult):
            return refusal
        group = refusal

        if not owner:
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
        if not owner and (result.error or result.wrong_usage):
            self.limits.cooldown_clear(user, spec.name)  # only a run that did its work counts
        return result

    def _check_place_and_permission(
        self, message: IncomingMessage, spec: CommandSpec, parsed: ParsedCommand, owner: bool
    ) -> DispatchResult | GroupInfo | None:
        needs_group = spec.where == "group" or spec.who == "group_admin" or spec.bot_admin
        if needs_group and not message.is_group:
            return self._refuse(message, spec, _("This command works in groups only."), "group_only")
        if spec.where == "private" and message.is_group:
            text = _("This command works in a private chat with me only.")
            return self._refuse(message, spec, text, "private_only")
        if spec.who == "owner" and not owner:
            return self._refuse(message, spec, _("Only the bot owner can use this command."), "not_owner")
        group: GroupInfo | None = None
        if message.is_group and (spec.who == "group_admin" or spec.bot_admin or needs_group):
            group = self.groups.get(message.chat)
            if group is None:
                return self._refuse(
                    message,
                    spec,
                    _("I couldn't read this group's details right now. Please try again in a minute."),
                    "group_unavailable",
                )
        if spec.who == "group_admin" and not owner:
            assert group is not None
            if not group.is_admin(message.sender, message.sender_alt):
                return self._refuse(message, spec, _("Only group admins can use this command."), "not_admin")
        if spec.bot_admin:
            assert group is not None
            if not group.is_admin(self.bot_jid()):
                return self._refuse(
                    message,
                    spec,
                    _("I need to be a group admin to do that. Make me admin and try again."),
                    "bot_not_admin",
                )
        return group

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

    def context(
        self,
        message: IncomingMessage,
        spec: CommandSpec,
        parsed: ParsedCommand,
        *,
        owner: bool,
        group: GroupInfo | None,
    ) -> CommandContext:
        return CommandContext(
            message=message,
            command=spec.name,
            invoked_as=parsed.word,
            prefix=parsed.prefix,
            args=parsed.args,
            arg_text=parsed.arg_text,
            session_name=self.session_name,
            transport=self.transport,
            state=self.state,
            registry=self.registry,
            groups=self.groups,
            outbound=self.outbound,
            stats=self.stats,
            owners=self.owners,
            bot_name=self.bot_name,
            bot_jid_of=self.bot_jid,
            clock=self.clock,
            started_at=self.started_at,
            is_owner=owner,
            is_group_admin=bool(group and group.is_admin(message.sender, message.sender_alt)),
            bot_is_admin=bool(group and group.is_admin(self.bot_jid())),
            group=group,
            rng=self.rng,
            moderator=self.moderator,
            filters=self.filters,
            activity=self.activity,
        )

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
        ctx = self.context(message, spec, parsed, owner=owner, group=group)
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
        return result
