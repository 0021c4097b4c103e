"""Test kit for the router and commands: a hand-driven clock, message and group builders, a bot
harness over the in-memory transport. Data is built in code; nothing sleeps."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from pathlib import Path

from bot.dispatch import DispatchResult, Router, build_router
from bot.dispatch.limits import PacingConfig
from bot.dispatch.registry import Registry
from bot.transport.base import GroupChange, GroupInfo, IncomingMessage, Participant, Reply, SendResult
from tests.support.memory_transport import MemoryTransport

BOT = "10000000001@s.whatsapp.net"
OWNER = "15550000001@s.whatsapp.net"
ALICE = "15550000002@s.whatsapp.net"
BOB = "15550000003@s.whatsapp.net"
CAROL = "15550000004@s.whatsapp.net"
ALICE_LID = "80000000002@lid"
OWNER_LID = "80000000001@lid"
GROUP = "120363000000000099@g.us"
ROOT_DIR = Path(__file__).resolve().parents[2]


class Clock:
    """Monotonic time moved by hand; ``sleep`` advances it (so pacing waits are visible, not slept)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class KitTransport(MemoryTransport):
    """The in-memory transport, answering invite-link actions like WhatsApp does (a link in detail)."""

    def __init__(self, *, me: str = BOT) -> None:
        super().__init__(me=me)
        self.link_serial = 0

    def send(self, reply: Reply) -> SendResult:
        result = super().send(reply)
        if reply.kind == "group" and reply.action in {"invite_link", "revoke_link"}:
            if reply.action == "revoke_link" or not self.link_serial:
                self.link_serial += 1
            return SendResult(id=result.id, detail={"link": f"https://chat.whatsapp.com/KIT{self.link_serial:04d}"})
        return result


_ids = itertools.count(1)


def msg(
    text: str,
    *,
    chat: str | None = None,
    sender: str = ALICE,
    sender_alt: str = "",
    mentions: tuple[str, ...] = (),
    quoted_sender: str = "",
    quoted_id: str = "",
    from_me: bool = False,
    msg_id: str | None = None,
) -> IncomingMessage:
    chat = chat or sender
    return IncomingMessage(
        id=msg_id or f"KIT{next(_ids):08d}",
        chat=chat,
        sender=sender,
        sender_alt=sender_alt,
        text=text,
        is_group=chat.endswith("@g.us"),
        from_me=from_me,
        mentions=mentions,
        quoted_sender=quoted_sender,
        quoted_id=quoted_id or ("Q1" if quoted_sender else ""),
    )


def group_info(
    chat: str = GROUP,
    *,
    admins: tuple[str, ...] = (),
    members: tuple[str, ...] = (ALICE, BOB, CAROL),
    bot_admin: bool = True,
    name: str = "Kit Group",
    super_admins: tuple[str, ...] = (),
) -> GroupInfo:
    people = dict.fromkeys((*admins, *members, *super_admins))
    participants = [Participant(jid=BOT, phone="10000000001", is_admin=bot_admin)]
    for jid in people:
        lid = jid.endswith("@lid")
        participants.append(
            Participant(
                jid=jid,
                phone="" if lid else jid.split("@")[0],
                is_admin=jid in admins,
                is_super_admin=jid in super_admins,
            )
        )
    return GroupInfo(chat=chat, name=name, participants=tuple(participants))


@dataclass
class Bot:
    """A router over a KitTransport with a hand clock; ``say`` runs one message through it."""

    router: Router
    transport: KitTransport
    clock: Clock
    results: list[DispatchResult] = field(default_factory=list)

    def say(self, text: str, **kw) -> DispatchResult:
        result = self.router.handle(msg(text, **kw))
        self.results.append(result)
        return result

    def handle(self, message: IncomingMessage) -> DispatchResult:
        return self.router.handle(message)

    def run(self, text: str, **kw) -> list[Reply]:
        """One message through router, handler and outbound: what the transport really sent."""
        before = len(self.transport.sent)
        self.results.append(self.router.handle_and_send(msg(text, **kw)))
        return self.transport.sent[before:]

    def run_text(self, text: str, **kw) -> str:
        sent = [r.text for r in self.run(text, **kw) if r.kind == "text"]
        assert len(sent) == 1, f"expected one text, got {sent!r} ({self.results[-1].reason})"
        return sent[0]

    def change(self, change: GroupChange) -> DispatchResult:
        return self.router.handle_group_change(change)

    def add_group(self, info: GroupInfo) -> GroupInfo:
        self.transport.groups[info.chat] = info
        self.router.groups.invalidate(info.chat)
        return info


def make_bot(
    settings,
    *,
    owners: tuple[str, ...] = ("15550000001",),
    prefix: str = ".",
    registry: Registry | None = None,
    pacing: PacingConfig | None = None,
    session_name: str = "kit",
    user_per_minute: float = 0,
    seed: int = 7,
) -> Bot:
    """A bot with ``owners``; user rate limits off unless ``user_per_minute`` is given."""
    settings.OWNER_NUMBERS = list(owners)
    settings.BOT_PREFIX = prefix
    settings.USER_COMMANDS_PER_MINUTE = user_per_minute
    clock = Clock()
    transport = KitTransport()
    router = build_router(
        transport=transport,
        session_name=session_name,
        clock=clock,
        sleep=clock.sleep,
        registry=registry,
        pacing=pacing or PacingConfig(enabled=False),
        rng=random.Random(seed),
    )
    return Bot(router=router, transport=transport, clock=clock)


def texts(result: DispatchResult) -> list[str]:
    return [r.text for r in result.replies if r.kind == "text"]


def only_text(result: DispatchResult) -> str:
    found = texts(result)
    assert len(found) == 1, f"expected one text reply, got {result.replies!r} ({result.reason})"
    return found[0]
