"""Welcome, goodbye and antilink from real neonize events: protobuf ``GroupInfoEv`` and ``MessageEv``
built in code, delivered through neonize's own dispatch into the real ``NeonizeTransport``, routed,
and sent back through a fake Go FFI that records the ``waE2E`` messages WhatsApp would get."""

from __future__ import annotations

import queue
import random

import pytest

pytest.importorskip("neonize")

from neonize.events import GroupInfoEv  # noqa: E402
from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.utils.jid import build_jid  # noqa: E402

from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.transport.base import GroupChange  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from bot.transport.neonize.translate import translate_group_info  # noqa: E402
from tests.bot.dispatch_kit import Clock  # noqa: E402
from tests.bot.fixtures.neonize_events import EMPTY, FakeGo, deliver, make_msg_ev  # noqa: E402

pytestmark = pytest.mark.django_db

GROUP = build_jid("120363012345678901", "g.us")
GROUP_STR = "120363012345678901@g.us"
BOT = build_jid("15550000000")
ADMIN = build_jid("15551230001")
MEMBER = build_jid("15551230002")
MEMBER_LID = build_jid("98765432100002", "lid")
NEWCOMER_LID = build_jid("98765432100003", "lid")


def participant(jid, *, phone=None, lid=None, admin=False):
    return N.GroupParticipant(
        JID=jid, LID=lid or EMPTY, PhoneNumber=phone or EMPTY, IsAdmin=admin, IsSuperAdmin=False, DisplayName=""
    )


def neonize_group(*, bot_admin: bool = True) -> N.GroupInfo:
    """A LID-addressed group as ``get_group_info`` returns it: members by LID, phones alongside."""
    info = N.GroupInfo(
        JID=GROUP,
        Participants=[
            participant(BOT, phone=BOT, admin=bot_admin),
            participant(ADMIN, phone=ADMIN, admin=True),
            participant(MEMBER_LID, phone=MEMBER, lid=MEMBER_LID),
        ],
    )
    info.GroupName.Name = "Book club"
    return info


class Wired:
    """NeonizeTransport -> inbox -> router -> outbound -> the same transport, as the runtime wires it.

    The transport hands translated events over from its own thread; like the runtime, we only queue
    them there and route them here (on the test's thread, which owns the test database).
    """

    def __init__(self, transport: NeonizeTransport, router) -> None:
        self.transport = transport
        self.router = router
        self.results = []
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        transport.set_handlers(on_message=self.inbox.put, on_signal=lambda s: None, on_group_change=self.inbox.put)

    def deliver(self, ev) -> None:
        """Go's callback path for ``ev``, then route everything it produced."""
        deliver(self.transport.client, ev)
        assert self.transport.flush(5), "the transport did not translate the event in time"
        while not self.inbox.empty():
            item = self.inbox.get()
            if isinstance(item, GroupChange):
                result = self.router.handle_group_change(item)
                for reply in result.replies:
                    self.router.outbound.send(reply)
            else:
                result = self.router.handle_and_send(item)
            self.results.append(result)


@pytest.fixture
def fake() -> FakeGo:
    return FakeGo()


@pytest.fixture
def wired(settings, tmp_path, fake) -> Wired:
    settings.OWNER_NUMBERS = []
    settings.BOT_PREFIX = "."
    transport = NeonizeTransport(session_name="events", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client._NewClient__client = fake
    transport.client.me = N.Device(JID=BOT)
    clock = Clock()
    router = build_router(
        transport=transport,
        session_name="events",
        clock=clock,
        sleep=clock.sleep,
        pacing=PacingConfig(enabled=False),
        rng=random.Random(1),
    )
    router.groups.put(translate_group_info(neonize_group()))
    return Wired(transport, router)


def texts_sent(fake: FakeGo) -> list:
    return [m.extendedTextMessage for _, m in fake.sent if m.HasField("extendedTextMessage")]


def group_event(**fields) -> GroupInfoEv:
    return GroupInfoEv(JID=GROUP, Sender=ADMIN, Timestamp=1764331200, **fields)


def test_a_join_event_sends_a_welcome_with_a_real_mention(wired, fake):
    wired.router.state.set_group(GROUP_STR, welcome=True)
    wired.deliver(group_event(Join=[NEWCOMER_LID]))
    [(to, message)] = fake.sent
    assert (to.User, to.Server) == ("120363012345678901", "g.us")
    text = message.extendedTextMessage
    assert text.text.startswith("Welcome @98765432100003 to *Book club*!")
    assert list(text.contextInfo.mentionedJID) == ["98765432100003@lid"]


def test_a_leave_event_says_goodbye(wired, fake):
    wired.router.state.set_group(GROUP_STR, welcome=True)
    wired.deliver(group_event(Leave=[MEMBER_LID]))
    [text] = texts_sent(fake)
    assert text.text == "Goodbye @98765432100002. Take care!"
    assert list(text.contextInfo.mentionedJID) == ["98765432100002@lid"]


def test_group_events_send_nothing_while_welcome_is_off(wired, fake):
    wired.deliver(group_event(Join=[NEWCOMER_LID], Leave=[MEMBER_LID]))
    assert fake.sent == []


def test_the_welcome_command_from_a_real_message_turns_it_on(wired, fake):
    wired.deliver(make_msg_ev(".welcome on", chat=GROUP, sender=ADMIN, msg_id="W1"))
    [reply] = texts_sent(fake)
    assert reply.text.startswith("Welcome messages on") and reply.contextInfo.stanzaID == "W1"
    wired.deliver(group_event(Join=[NEWCOMER_LID]))
    assert texts_sent(fake)[-1].text.startswith("Welcome @98765432100003")


def test_a_link_from_a_lid_member_is_revoked_and_warned(wired, fake):
    wired.router.moderator.rulebook.rule_set(GROUP_STR, "antilink", enabled=True)
    ev = make_msg_ev(
        "free stuff https://chat.whatsapp.com/AbCdEf", chat=GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id="L1"
    )
    wired.deliver(ev)
    revoke, warning = (m for _, m in fake.sent)
    key = revoke.protocolMessage.key
    assert revoke.protocolMessage.type == revoke.protocolMessage.REVOKE
    assert (key.ID, key.remoteJID, key.participant, key.fromMe) == ("L1", GROUP_STR, "98765432100002@lid", False)
    assert warning.extendedTextMessage.text.startswith("@98765432100002 warning 1/3.")
    assert list(warning.extendedTextMessage.contextInfo.mentionedJID) == ["98765432100002@lid"]


def test_the_third_link_removes_the_member_through_update_group_participants(wired, fake):
    wired.router.moderator.rulebook.rule_set(GROUP_STR, "antilink", enabled=True)
    for n in range(3):
        ev = make_msg_ev("www.spam.example", chat=GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id=f"S{n}")
        wired.deliver(ev)
    [(group, jids, action)] = fake.participant_changes
    assert group.User == "120363012345678901" and action == "remove"
    assert [(j.User, j.Server) for j in jids] == [("98765432100002", "lid")]


def test_an_admins_link_and_a_redelivered_message_are_left_alone(wired, fake):
    wired.router.moderator.rulebook.rule_set(GROUP_STR, "antilink", enabled=True)
    wired.deliver(make_msg_ev("see https://example.com", chat=GROUP, sender=ADMIN, msg_id="A1"))
    assert fake.sent == []
    ev = make_msg_ev("https://example.com", chat=GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id="D1")
    wired.deliver(ev)
    wired.deliver(ev)  # WhatsApp redelivers: one warning only
    assert len(fake.sent) == 2 and wired.results[-1].reason == "duplicate"


def test_a_promote_event_makes_a_member_admin_without_asking_whatsapp(wired, fake):
    wired.deliver(make_msg_ev(".tagall", chat=GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id="T1"))
    assert texts_sent(fake)[-1].text == "Only group admins can use this command."
    wired.deliver(group_event(Promote=[MEMBER_LID]))
    wired.deliver(make_msg_ev(".tagall hi", chat=GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id="T2"))
    tag = texts_sent(fake)[-1]
    assert tag.text.startswith("hi\n")
    assert set(tag.contextInfo.mentionedJID) == {"15551230001@s.whatsapp.net", "98765432100002@lid"}
