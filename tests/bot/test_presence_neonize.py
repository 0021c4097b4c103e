"""Anti-call, read receipts, status views, presence, polls and hidden mentions through the real neonize
transport: protobuf events delivered through neonize's own dispatch, routed, and the Go calls they
cause recorded by a fake FFI (polls built by the real Go library)."""

from __future__ import annotations

import queue
import random

import pytest

pytest.importorskip("neonize")

from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.utils.jid import build_jid  # noqa: E402

from bot.child.receipts import presence_announce  # noqa: E402
from bot.child.sending import item_reply  # noqa: E402
from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.models import AwayStatus, CallNotice, OutboxItem  # noqa: E402
from bot.outbox import outbox_enqueue  # noqa: E402
from bot.transport.base import IncomingCall  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from bot.transport.neonize.translate import translate_group_info, translate_message  # noqa: E402
from tests.bot.dispatch_kit import Clock  # noqa: E402
from tests.bot.fixtures.neonize_events import EMPTY, deliver, device_jid, make_msg_ev  # noqa: E402
from tests.bot.fixtures.neonize_presence import PresenceGo, make_call_offer_ev, make_status_ev  # noqa: E402

pytestmark = pytest.mark.django_db

GROUP = build_jid("120363012345678901", "g.us")
BOT = build_jid("15550000000")
OWNER = build_jid("15550000001")
CALLER = device_jid("15557770001", 12)
CALLER_LID = device_jid("77700000000001", 3, "lid")
FRIEND = build_jid("15557770002")
MEMBER = build_jid("15551230002")
MEMBER_LID = build_jid("98765432100002", "lid")


class Wired:
    """NeonizeTransport -> inbox -> router -> outbound -> the same transport, as the runtime wires it."""

    def __init__(self, transport: NeonizeTransport, router) -> None:
        self.transport = transport
        self.router = router
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        self.results: list = []
        transport.set_handlers(on_message=self.inbox.put, on_signal=lambda s: None, on_call=self.inbox.put)

    def deliver(self, ev) -> list:
        deliver(self.transport.client, ev)
        assert self.transport.flush(5), "the transport did not translate the event in time"
        results = []
        while not self.inbox.empty():
            item = self.inbox.get()
            if isinstance(item, IncomingCall):
                result = self.router.handle_call(item)
                for reply in result.replies:
                    self.router.outbound.send(reply)
            else:
                result = self.router.handle_and_send(item)
            results.append(result)
        self.results += results
        return results


def wire(settings, tmp_path, go: PresenceGo, **values) -> Wired:
    settings.OWNER_NUMBERS = ["15550000001"]
    settings.BOT_PREFIX = "."
    for name, value in values.items():
        setattr(settings, name, value)
    transport = NeonizeTransport(session_name="presence", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client._NewClient__client = go
    transport.client.me = N.Device(JID=BOT)
    clock = Clock()
    router = build_router(
        transport=transport,
        session_name="presence",
        clock=clock,
        sleep=clock.sleep,
        pacing=PacingConfig(enabled=False),
        rng=random.Random(1),
    )
    return Wired(transport, router)


def texts(go: PresenceGo) -> list[tuple[str, str]]:
    return [
        (f"{to.User}@{to.Server}", m.extendedTextMessage.text) for to, m in go.sent if m.HasField("extendedTextMessage")
    ]


# -- anti-call ------------------------------------------------------------------------------------------------
def test_a_call_is_rejected_with_the_offer_creator_and_the_caller_told_once(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go, REJECT_CALLS=True, CALL_REJECT_MESSAGE="No calls, please.")
    wired.deliver(make_call_offer_ev(caller=CALLER, call_id="C1"))
    wired.deliver(make_call_offer_ev(caller=CALLER, call_id="C2"))
    assert [(jid.User, jid.Device, jid.Server, call_id) for jid, call_id in go.rejected] == [
        ("15557770001", 12, "s.whatsapp.net", "C1"),
        ("15557770001", 12, "s.whatsapp.net", "C2"),
    ]
    assert texts(go) == [("15557770001@s.whatsapp.net", "No calls, please.")]  # the second within the hour: silence
    assert wired.router.stats.counts_total() == {"call:rejected": 2}
    row = CallNotice.objects.get(session_name="presence")
    assert (row.caller, row.rejected) == ("15557770001", 2)


def test_a_restarted_bot_does_not_tell_a_caller_twice_within_the_hour(settings, tmp_path):
    first = PresenceGo()
    wire(settings, tmp_path, first, REJECT_CALLS=True).deliver(make_call_offer_ev(caller=CALLER, call_id="C1"))
    again = PresenceGo()
    wire(settings, tmp_path, again, REJECT_CALLS=True).deliver(make_call_offer_ev(caller=CALLER, call_id="C2"))
    assert len(texts(first)) == 1 and len(again.rejected) == 1
    assert texts(again) == []


def test_a_lid_caller_is_told_at_its_phone_number(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go, REJECT_CALLS=True)
    wired.deliver(make_call_offer_ev(caller=CALLER_LID, caller_alt=build_jid("15557770003")))
    assert go.rejected[0][0].Server == "lid"  # rejected with the creator as the offer named it
    assert [to for to, _ in texts(go)] == ["15557770003@s.whatsapp.net"]


def test_owners_allowed_numbers_and_a_bot_without_anti_call_let_it_ring(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go, REJECT_CALLS=True, CALL_ALLOW=["15557770002"])
    reasons = [
        r.reason
        for ev in (make_call_offer_ev(caller=OWNER), make_call_offer_ev(caller=FRIEND))
        for r in wired.deliver(ev)
    ]
    off = PresenceGo()
    reasons += [
        r.reason for r in wire(settings, tmp_path, off, REJECT_CALLS=False).deliver(make_call_offer_ev(caller=CALLER))
    ]
    assert reasons == ["owner", "allowed", "off"]
    assert go.rejected == [] and off.rejected == [] and go.sent == [] and not CallNotice.objects.exists()


def test_a_reject_whatsapp_refuses_is_counted_and_the_loop_goes_on(settings, tmp_path):
    go = PresenceGo(reject_error="call already ended")
    wired = wire(settings, tmp_path, go, REJECT_CALLS=True)
    (result,) = wired.deliver(make_call_offer_ev(caller=CALLER))
    assert result.reason == "reject_failed" and go.sent == []
    assert wired.router.stats.counts_total() == {"call:reject_failed": 1}
    wired.deliver(make_msg_ev(".ping", chat=CALLER, sender=build_jid("15557770001"), msg_id="AFTER"))
    assert len(texts(go)) == 1


def test_a_flood_of_calls_from_one_number_is_one_row_and_one_message(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go, REJECT_CALLS=True)
    for n in range(150):
        wired.deliver(make_call_offer_ev(caller=CALLER, call_id=f"F{n:04d}"))
    assert len(go.rejected) == 150 and len(texts(go)) == 1
    assert list(CallNotice.objects.values_list("rejected", flat=True)) == [150]
    assert wired.router.stats.counts_total() == {"call:rejected": 150}


# -- receipts, status views, presence --------------------------------------------------------------------------
def test_a_contacts_status_is_viewed_when_asked_and_never_runs_a_command(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go, AUTO_STATUS_VIEW=True, STATUS_VIEW_DENY=["15557770002"])
    wired.deliver(make_status_ev(".menu", sender=MEMBER, msg_id="S1"))
    wired.deliver(make_status_ev("my holiday", sender=FRIEND, msg_id="S2"))  # denied
    assert [(ids, f"{chat.User}@{chat.Server}", sender.User, receipt) for ids, chat, sender, receipt in go.reads] == [
        (["S1"], "status@broadcast", "15551230002", b"read")
    ]
    assert go.sent == [] and [r.reason for r in wired.results] == ["status", "status"]


def test_statuses_are_left_unseen_by_default(settings, tmp_path):
    go = PresenceGo()
    wire(settings, tmp_path, go).deliver(make_status_ev("hello", sender=MEMBER))
    assert go.reads == []


def test_read_receipts_mark_a_command_read_and_leave_chat_alone(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go, READ_RECEIPTS=True)
    wired.deliver(make_msg_ev(".ping", chat=GROUP, sender=MEMBER, msg_id="CMD1"))
    wired.deliver(make_msg_ev("just talking", chat=GROUP, sender=MEMBER, msg_id="CHAT1"))
    assert [(ids, chat.Server, sender.User) for ids, chat, sender, _ in go.reads] == [(["CMD1"], "g.us", "15551230002")]


def test_presence_after_connect_is_unavailable_unless_online_is_asked_for(tmp_path):
    go = PresenceGo()
    transport = NeonizeTransport(session_name="presence", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client._NewClient__client = go
    assert presence_announce(transport, presence="unavailable", session_name="presence")
    assert presence_announce(transport, presence="online", session_name="presence")
    assert go.presences == [b"unavailable", b"available"]


# -- polls and hidden mentions --------------------------------------------------------------------------------
def test_a_poll_goes_through_the_outbox_and_out_as_a_real_whatsapp_poll(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go)
    ev = make_msg_ev('.poll "Lunch?" pizza | sushi | salad', chat=GROUP, sender=MEMBER, msg_id="P1")
    result = wired.router.handle(translate_message(ev))
    (reply,) = result.replies
    (item_id,) = outbox_enqueue(session_name="presence", replies=[reply], answers="P1")
    stored = item_reply(OutboxItem.objects.get(pk=item_id))
    assert stored == reply
    wired.router.outbound.send(stored)
    ((to, sent),) = go.sent
    poll = sent.pollCreationMessage
    assert (to.User, poll.name, [o.optionName for o in poll.options], poll.selectableOptionsCount) == (
        "120363012345678901",
        "Lunch?",
        ["pizza", "sushi", "salad"],
        1,
    )
    assert len(sent.messageContextInfo.messageSecret) == 32  # what votes are encrypted with


def test_hidetag_mentions_every_member_in_context_info_without_naming_them(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go)
    info = N.GroupInfo(
        JID=GROUP,
        Participants=[
            N.GroupParticipant(JID=BOT, LID=EMPTY, PhoneNumber=BOT, IsAdmin=True, IsSuperAdmin=False, DisplayName=""),
            N.GroupParticipant(
                JID=OWNER, LID=EMPTY, PhoneNumber=OWNER, IsAdmin=True, IsSuperAdmin=False, DisplayName=""
            ),
            N.GroupParticipant(
                JID=MEMBER_LID, LID=MEMBER_LID, PhoneNumber=MEMBER, IsAdmin=False, IsSuperAdmin=False, DisplayName=""
            ),
        ],
    )
    wired.router.groups.put(translate_group_info(info))
    wired.deliver(make_msg_ev(".hidetag meeting at five", chat=GROUP, sender=OWNER, msg_id="H1"))
    ((to, sent),) = go.sent
    text = sent.extendedTextMessage
    assert text.text == "meeting at five" and "@" not in text.text
    assert list(text.contextInfo.mentionedJID) == ["15550000001@s.whatsapp.net", "98765432100002@lid"]


# -- afk with real mentions -----------------------------------------------------------------------------------
def test_a_mention_in_context_info_of_someone_away_gets_their_reason(settings, tmp_path):
    go = PresenceGo()
    wired = wire(settings, tmp_path, go)
    wired.deliver(make_msg_ev(".afk at the dentist", chat=GROUP, sender=MEMBER, msg_id="A1"))
    assert AwayStatus.objects.get(session_name="presence").reason == "at the dentist"
    wired.deliver(
        make_msg_ev(
            "@15551230002 are you there?",
            chat=GROUP,
            sender=OWNER,
            msg_id="A2",
            mentions=("15551230002@s.whatsapp.net",),
        )
    )
    notice = texts(go)[-1][1]
    assert notice.startswith("@15551230002 is away since ") and notice.endswith(": at the dentist")
    wired.deliver(make_msg_ev("back!", chat=GROUP, sender=MEMBER, msg_id="A3"))
    assert texts(go)[-1][1].startswith("Welcome back @15551230002! You were away for ")
    assert not AwayStatus.objects.exists()
