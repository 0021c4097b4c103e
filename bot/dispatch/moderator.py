"""The moderator: a group's rules run on each message and on each join, their hits carried out and recorded.

Used by the router (before any command, for groups with a rule on) in the bot child. The rules
are pure (``bot.dispatch.rules``), the decision is one table (``rules.actions.decide``); this
module only gathers what they need (the cached group metadata, the rule book, the flood states)
and turns a decision into replies (a revoke, a warning, a removal through the transport's group
action) and a ``ModerationLog`` row, written when the action is decided. Admins and owners are
never touched; without group admin rights the bot says so once per group and does nothing else.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _

from bot import moderation_settings as store
from bot.dispatch.context import mention
from bot.dispatch.groups import GroupCache
from bot.dispatch.moderation import find_member, member_key, warn_member
from bot.dispatch.rulebook import RuleBook
from bot.dispatch.rules import Hit, RuleConfig
from bot.dispatch.rules.actions import Decision, decide
from bot.dispatch.rules.antibot import bot_fingerprint
from bot.dispatch.rules.antifake import calling_code_hit
from bot.dispatch.rules.antilink import link_hit
from bot.dispatch.rules.antimention import mass_mention_hit
from bot.dispatch.rules.antispam import DEFAULT_LEVEL, LEVELS, FloodTracker
from bot.dispatch.rules.badword import badword_hit
from bot.moderation_settings import DEFAULT_MENTION_THRESHOLD
from bot.transport.base import USER_SERVER, GroupChange, GroupInfo, IncomingMessage, Reply, jid_server, jid_user

log = logging.getLogger(__name__)

MAX_STREAKS = 5000  # flood rows being added to, at most (the least recent forgotten: a new row next time)


def rule_reason(rule: str) -> str:
    """What the member is told they did (the warning's reason)."""
    return {
        "antilink": _("sent a link (antilink is on)"),
        "antispam": _("flooded the group (antispam is on)"),
        "antibadword": _("used a banned word (antibadword is on)"),
        "antifake": _("joined from a country code this group refuses (antifake is on)"),
        "antibot": _("posted from another bot (antibot is on)"),
        "antimention": _("mentioned too many members (antimention is on)"),
    }.get(rule, rule)


class Moderator:
    def __init__(
        self,
        *,
        session_name: str,
        groups: GroupCache,
        rulebook: RuleBook,
        bot_jid: Callable[[], str],
        owners: Callable[[], Iterable[str]] = tuple,
        clock: Callable[[], float],
        flood: FloodTracker | None = None,
    ) -> None:
        self.session_name = session_name
        self.groups = groups
        self.rulebook = rulebook
        self.bot_jid = bot_jid
        self.owners = owners  # asked each time: owners can change while the bot runs
        self.clock = clock
        self.flood = flood if flood is not None else FloodTracker()
        self._told: set[str] = set()  # groups told the bot needs admin rights (until it has them)
        self._streaks: OrderedDict[tuple[str, str], int] = OrderedDict()  # (chat, member) -> log row of the flood
        self._unwritten: dict[int, int] = {}  # log row -> a flood's later messages not yet added to it
        self._lock = threading.Lock()

    @classmethod
    def built(
        cls,
        *,
        session_name: str,
        groups: GroupCache,
        bot_jid: Callable[[], str],
        owners: Callable[[], Iterable[str]],
        clock: Callable[[], float],
    ) -> Moderator:
        """A moderator with its own rule book, read from the database."""
        rulebook = RuleBook(session_name=session_name, clock=clock)
        return cls(
            session_name=session_name, groups=groups, rulebook=rulebook, bot_jid=bot_jid, owners=owners, clock=clock
        )

    def watches(self, chat: str) -> bool:
        """Any rule on in this group (cheap: memory only, the rule book reloads itself now and then)."""
        self.rulebook.refresh_if_stale()
        return self.rulebook.active(chat)

    # -- messages -----------------------------------------------------------------------------------
    def on_message(self, message: IncomingMessage, *, owner: bool = False) -> list[Reply]:
        """The replies that carry out the first rule this message breaks ([] when none, or exempt)."""
        rules = self.rulebook.enabled(message.chat)
        if not rules or owner or message.from_me:
            return []
        group = self.groups.get(message.chat)
        if group is None or group.is_admin(message.sender, message.sender_alt):
            return []  # unknown admins: never risk acting on one
        member = member_key(group, message.sender, alt=message.sender_alt)
        if member in frozenset(self.owners()):
            return []
        hit = self.message_hit(message, member=member, rules=rules)
        if hit is None:
            return []
        return self._carry_out(hit, rules[hit.rule], group=group, member=member, jid=message.sender, message=message)

    def message_hit(self, message: IncomingMessage, *, member: str, rules: dict[str, RuleConfig]) -> Hit | None:
        """The first rule broken; the flood rule always sees the message, so its count stays true."""
        hits: list[Hit] = []
        spam = rules.get("antispam")
        if spam is not None and member not in spam.allow:
            limits = LEVELS.get(str(spam.options.get("level", DEFAULT_LEVEL)), LEVELS[DEFAULT_LEVEL])
            text = message.text or f"<{message.kind}>"
            verdict = self.flood.step(message.chat, member, now=self.clock(), text=text, limits=limits)
            if verdict:
                hits.append(Hit("antispam", f"flood ({verdict})", ongoing=verdict == "ongoing"))
        cfg = rules.get("antibot")
        if cfg is not None and member not in cfg.allow and (name := bot_fingerprint(message.id)):
            hits.append(Hit("antibot", f"message id of {name}"))
        cfg = rules.get("antilink")
        if cfg is not None and (link := link_hit(message.text, cfg.allow)):
            hits.append(Hit("antilink", f"link {link[:60]}"))
        cfg = rules.get("antibadword")
        if cfg is not None and member not in cfg.allow:
            words = cfg.block | self.rulebook.global_words() if cfg.options.get("global") else cfg.block
            if word := badword_hit(message.text, words):
                hits.append(Hit("antibadword", f"word {word}"))
        cfg = rules.get("antimention")
        if cfg is not None and member not in cfg.allow:
            threshold = int(cfg.options.get("threshold", DEFAULT_MENTION_THRESHOLD))
            if count := mass_mention_hit(message.mentions, threshold=threshold):
                hits.append(Hit("antimention", f"{count} mentions"))
        return hits[0] if hits else None

    # -- joins --------------------------------------------------------------------------------------
    def on_join(self, change: GroupChange) -> tuple[list[Reply], set[str]]:
        """Antifake on the members who joined: the replies, and the JIDs being removed (no welcome for them)."""
        cfg = self.rulebook.enabled(change.chat).get("antifake")
        me = jid_user(self.bot_jid())
        joined = [j for j in change.joined if jid_user(j) != me]
        if cfg is None or not joined:
            return [], set()
        group = self.groups.get(change.chat)
        if group is None:
            return [], set()
        if any(not self._phone(group, j) for j in joined):
            group = self.groups.refresh(change.chat) or group  # a LID join: WhatsApp knows the number
        replies: list[Reply] = []
        removed: set[str] = set()
        owners = frozenset(self.owners())
        for jid in joined:
            phone = self._phone(group, jid)
            if not phone or phone in owners or group.is_admin(jid):
                continue
            why = calling_code_hit(phone, allow=cfg.allow, block=cfg.block)
            if not why:
                continue
            done = self._carry_out(Hit("antifake", f"joined: {why}"), cfg, group=group, member=phone, jid=jid)
            replies += done
            if any(r.kind == "group" and r.action == "remove" for r in done):
                removed.add(jid)
        return replies, removed

    @staticmethod
    def _phone(group: GroupInfo, jid: str) -> str:
        if jid_server(jid) == USER_SERVER:
            return jid_user(jid)
        member = find_member(group, jid)
        return member.phone if member is not None else ""

    # -- carrying out -------------------------------------------------------------------------------
    def _carry_out(
        self,
        hit: Hit,
        cfg: RuleConfig,
        *,
        group: GroupInfo,
        member: str,
        jid: str,
        message: IncomingMessage | None = None,
    ) -> list[Reply]:
        chat = group.chat
        bot_admin = group.is_admin(self.bot_jid())
        with self._lock:
            if bot_admin:
                self._told.discard(chat)
            told = chat in self._told
        decision = decide(
            action=cfg.action,
            on_message=message is not None,
            ongoing=hit.ongoing,
            exempt=False,
            bot_admin=bot_admin,
            told=told,
        )
        if decision.notice:
            with self._lock:
                self._told.add(chat)
            text = _("I can't enforce %(rule)s here: I need to be a group admin. Make me one and I will.") % {
                "rule": hit.rule
            }
            return [Reply(kind="text", chat=chat, text=text)]
        replies: list[Reply] = []
        if decision.delete and message is not None:
            replies.append(Reply(kind="delete", chat=chat, reply_to=message.id, target=message.sender))
        action, detail = cfg.action, hit.why
        if decision.reason == "ongoing":
            action = "delete" if decision.delete else cfg.action
        if decision.warn:
            outcome = warn_member(
                session_name=self.session_name,
                bot_jid=self.bot_jid(),
                chat=chat,
                group=group,
                jid=jid,
                reason=rule_reason(hit.rule),
                given_by=hit.rule,
                policy=self.rulebook.warn_settings(chat),
            )
            replies += outcome.replies
            detail = f"{hit.why}; warning {outcome.count}/{outcome.limit}" + ("; removed" if outcome.removed else "")
            action = "kick" if outcome.removed else "warn"
        if decision.kick:
            target = find_member(group, jid)
            replies.append(Reply(kind="group", chat=chat, action="remove", targets=(target.jid if target else jid,)))
            text = _("%(who)s was removed: %(why)s.") % {"who": mention(jid), "why": rule_reason(hit.rule)}
            replies.append(Reply(kind="text", chat=chat, text=text, mentions=(jid,)))
            self.flood.forget(chat, member)
        if decision.log:
            self._record(decision, hit, chat=chat, member=member, action=action, detail=detail, message=message)
        return replies

    def flush_counts(self) -> int:
        """Add the floods' later messages to their log rows (on the stats flush's beat and at stop)."""
        with self._lock:
            unwritten, self._unwritten = self._unwritten, {}
        for n, (row_id, count) in enumerate(items := list(unwritten.items())):
            try:
                store.moderation_log_add_messages(row_id=row_id, messages=count)
            except Exception:
                with self._lock:  # kept, with what came meanwhile, for the next flush
                    for kept_id, kept in items[n:]:
                        self._unwritten[kept_id] = self._unwritten.get(kept_id, 0) + kept
                raise
        return len(unwritten)

    def _record(
        self,
        decision: Decision,
        hit: Hit,
        *,
        chat: str,
        member: str,
        action: str,
        detail: str,
        message: IncomingMessage | None,
    ) -> None:
        key = (chat, member)
        try:
            if decision.reason == "ongoing":
                with self._lock:
                    row_id = self._streaks.get(key)
                    if row_id is not None:  # added to its row by flush_counts, never one write per message
                        self._unwritten[row_id] = self._unwritten.get(row_id, 0) + 1
                        return
            row_id = store.moderation_log_record(
                session_name=self.session_name,
                chat=chat,
                member=member,
                rule=hit.rule,
                action=action,
                excerpt=message.text if message is not None else "",
                detail=detail,
            )
        except Exception:
            log.exception("moderation log not written", extra={"session": self.session_name, "chat": chat})
            return
        log.info(  # what the bot did, for the operator; never the message itself
            "moderation", extra={"session": self.session_name, "chat": chat, "rule": hit.rule, "action": action}
        )
        if hit.rule == "antispam":
            with self._lock:
                self._streaks[key] = row_id
                self._streaks.move_to_end(key)
                while len(self._streaks) > MAX_STREAKS:
                    self._streaks.popitem(last=False)
