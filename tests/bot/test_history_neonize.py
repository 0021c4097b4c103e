"""Anti-delete and anti-edit from real neonize events: protobuf ``MessageEv`` deletes, edits, media and
view-once messages delivered through neonize's own dispatch into the real ``NeonizeTransport``,
translated (``bot.transport.neonize.history``), routed and kept as the runtime does, and the reposts
sent back through a fake Go FFI that records the ``waE2E`` messages WhatsApp would get."""

from __future__ import annotations

import queue
import random
import time

import pytest

pytest.importorskip("neonize")

from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.utils.jid import build_jid  # noqa: E402

from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.history import REPOSTS_PER_MINUTE  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.message_cache import MAX_TEXT  # noqa: E402
from bot.models import CachedMessage  # noqa: E402
from bot.transport.base import IncomingMessage, MessageEdited, MessageRevoked  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from bot.transport.neonize.translate import translate_group_info  # noqa: E402
from tests.bot.dispatch_kit import Clock  # noqa: E402
from tests.bot.fixtures.neonize_events import EMPTY, FakeGo, deliver, make_msg_ev  # noqa: E402
from tests.bot.fixtures.neonize_history import make_edit_ev, make_image_ev, make_revoke_ev  # noqa: E402

pytestmark = pytest.mark.django_db

GROUP = build_jid("120363012345678901", "g.us")
GROUP_STR = "120363012345678901@g.us"
BOT = build_jid("15550000000")
ADMIN = build_jid("15551230001")
MEMBER = build_jid("15551230002")
OWNER = build_jid("15559990000")


def participant(jid, *, admin=False):
    return N.GroupParticipant(JID=jid, LID=EMPTY, PhoneNumber=jid, IsAdmin=admin, IsSuperAdmin=False, DisplayName="")


class Wired:
    """NeonizeTransport -> inbox -> router (messages) or history keeper (deletes, edits) -> outbound."""

    def __init__(self, transport: NeonizeTransport, router) -> None:
        self.transport = transport
        self.router = router
        self.results = []
        self.inbox: queue.SimpleQueue = queue.SimpleQueue()
        transport.set_handlers(on_message=self.inbox.put, on_signal=lambda s: None, on_group_change=self.inbox.put)

    def deliver(self, ev) -> None:
        deliver(self.transport.client, ev)
        assert self.transport.flush(5), "the transport did not translate the event in time"
        while not self.inbox.empty():
            item = self.inbox.get()
            if isinstance(item, MessageRevoked | MessageEdited):
                result = self.router.history.handle(item)
                for reply in result.replies:
                    self.router.outbound.send(reply)
            else:
                result = self.router.handle_and_send(item)
            self.results.append((item, result))


@pytest.fixture
def fake() -> FakeGo:
    return FakeGo()


@pytest.fixture
def wired(settings, tmp_path, fake) -> Wired:
    settings.OWNER_NUMBERS = ["15559990000"]
    settings.BOT_PREFIX = "."
    transport = NeonizeTransport(session_name="history", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client._NewClient__client = fake
    transport.client.me = N.Device(JID=BOT)
    clock = Clock()
    router = build_router(
        transport=transport,
        session_name="history",
        clock=clock,
        sleep=clock.sleep,
        pacing=PacingConfig(enabled=False),
        rng=random.Random(1),
    )
    info = N.GroupInfo(
        JID=GROUP, Participants=[participant(BOT, admin=True), participant(ADMIN, admin=True), participant(MEMBER)]
    )
    router.groups.put(translate_group_info(info))
    return Wired(transport, router)


def texts_sent(fake: FakeGo) -> list[tuple[str, str]]:
    return [(to.User, m.extendedTextMessage.text) for to, m in fake.sent if m.HasField("extendedTextMessage")]


def antidelete_on(wired: Wired, fake: FakeGo) -> None:
    wired.deliver(make_msg_ev(".antidelete on", chat=GROUP, sender=ADMIN, msg_id=f"C{time.monotonic_ns()}"))
    assert texts_sent(fake)[-1][1].startswith("Anti-delete on")


def test_the_events_translate_to_deletes_and_edits_with_who_and_whose(wired, fake):
    wired.deliver(make_revoke_ev("M1", chat=GROUP, sender=ADMIN, author=MEMBER, msg_id="R1"))
    wired.deliver(make_edit_ev("M2", "new", chat=GROUP, sender=MEMBER, msg_id="E1"))
    wired.deliver(make_edit_ev("M3", "bare", chat=GROUP, sender=MEMBER, msg_id="E2", unwrapped=True))
    (revoke, _), (edit, _), (bare, _) = wired.results
    assert revoke == MessageRevoked(
        id="R1", chat=GROUP_STR, sender="15551230001@s.whatsapp.net", target_id="M1",
        target_sender="15551230002@s.whatsapp.net", is_group=True, timestamp=revoke.timestamp,
    )  # fmt: skip
    assert (edit.target_id, edit.text, edit.sender) == ("M2", "new", "15551230002@s.whatsapp.net")
    assert (bare.target_id, bare.text) == ("M3", "bare")
    assert fake.sent == []  # anti-delete is off: nothing kept, nothing said


def test_a_deleted_text_is_posted_again_with_who_and_when(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(
        make_msg_ev("the meeting is at 5", chat=GROUP, sender=MEMBER, msg_id="M1", timestamp_ms=1764331200000)
    )
    wired.deliver(make_revoke_ev("M1", chat=GROUP, sender=MEMBER, msg_id="R1", timestamp_ms=1764331260000))
    to, text = texts_sent(fake)[-1]
    assert to == "120363012345678901"
    assert text.splitlines() == [
        "🗑️ Deleted message",
        "From: @15551230002, sent 2025-11-28 12:00 UTC",
        "Deleted by its author at 2025-11-28 12:01 UTC",
        "",
        "the meeting is at 5",
    ]
    assert wired.router.stats.counts_total()["history:delete_reposted"] == 1
    assert not CachedMessage.objects.filter(message_id="M1").exists()  # shown once, then forgotten


def test_an_admin_deleting_a_members_message_is_named_with_whose_it_was(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(make_msg_ev("rude words", chat=GROUP, sender=MEMBER, msg_id="M1"))
    wired.deliver(make_revoke_ev("M1", chat=GROUP, sender=ADMIN, author=MEMBER, msg_id="R1"))
    [(_, message)] = [(to, m) for to, m in fake.sent if "rude words" in m.extendedTextMessage.text]
    text = message.extendedTextMessage.text
    assert "From: @15551230002" in text and "Deleted by @15551230001 (not its author)" in text
    assert set(message.extendedTextMessage.contextInfo.mentionedJID) == {
        "15551230002@s.whatsapp.net",
        "15551230001@s.whatsapp.net",
    }


def test_a_deleted_image_says_its_kind_and_caption(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(make_image_ev("our new logo", chat=GROUP, sender=MEMBER, msg_id="I1"))
    wired.deliver(make_revoke_ev("I1", chat=GROUP, sender=MEMBER, msg_id="R1"))
    assert texts_sent(fake)[-1][1].endswith("[image] caption: our new logo")


@pytest.mark.parametrize("how", ["flag", "wrapper", "media"])
def test_a_view_once_message_is_never_kept(wired, fake, how):
    antidelete_on(wired, fake)
    wired.deliver(make_image_ev("only once", chat=GROUP, sender=MEMBER, msg_id="V1", view_once=how))
    message = wired.results[-1][0]
    assert isinstance(message, IncomingMessage) and message.view_once and message.kind == "image"
    assert not CachedMessage.objects.exists()
    sent = len(fake.sent)
    wired.deliver(make_revoke_ev("V1", chat=GROUP, sender=MEMBER, msg_id="R1"))
    assert len(fake.sent) == sent  # nothing to show: silent, counted
    assert wired.router.stats.counts_total()["history:unknown"] == 1


def test_an_edit_shows_the_text_before_and_the_cache_follows_it(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(make_msg_ev(".antiedit on", chat=GROUP, sender=ADMIN, msg_id="C2"))
    wired.deliver(make_msg_ev("see you at 5", chat=GROUP, sender=MEMBER, msg_id="M1"))
    wired.deliver(make_edit_ev("M1", "see you at 6", chat=GROUP, sender=MEMBER, msg_id="E1"))
    text = texts_sent(fake)[-1][1]
    assert text.startswith("✏️ Edited message\nFrom: @15551230002")
    assert text.endswith("Before: see you at 5\nAfter: see you at 6")
    wired.deliver(make_edit_ev("M1", "see you at 7", chat=GROUP, sender=MEMBER, msg_id="E2", unwrapped=True))
    assert texts_sent(fake)[-1][1].endswith("Before: see you at 6\nAfter: see you at 7")
    wired.deliver(make_revoke_ev("M1", chat=GROUP, sender=MEMBER, msg_id="R1"))
    assert texts_sent(fake)[-1][1].endswith("\nsee you at 7")  # the delete shows the last text
    assert wired.router.stats.counts_total()["history:edit_reposted"] == 2


def test_an_edit_by_someone_else_changes_nothing(wired, fake):
    wired.deliver(make_msg_ev(".antiedit on", chat=GROUP, sender=ADMIN, msg_id="C1"))
    wired.deliver(make_msg_ev("original", chat=GROUP, sender=MEMBER, msg_id="M1"))
    sent = len(fake.sent)
    wired.deliver(make_edit_ev("M1", "forged", chat=GROUP, sender=ADMIN, msg_id="E1"))
    assert len(fake.sent) == sent
    assert wired.router.stats.counts_total()["history:foreign_edit"] == 1
    wired.deliver(make_edit_ev("M1", "fixed typo", chat=GROUP, sender=MEMBER, msg_id="E2"))
    assert texts_sent(fake)[-1][1].endswith("Before: original\nAfter: fixed typo")


def test_a_64_kb_text_is_kept_cut_and_posted_bounded(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(make_msg_ev("x" * 65_536, chat=GROUP, sender=MEMBER, msg_id="BIG"))
    wired.deliver(make_revoke_ev("BIG", chat=GROUP, sender=MEMBER, msg_id="R1"))
    text = texts_sent(fake)[-1][1]
    assert text.count("x") == MAX_TEXT and text.endswith(f"(cut at {MAX_TEXT} characters)")
    assert len(text) < MAX_TEXT + 300


def test_our_own_accounts_deletes_are_never_posted(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(make_msg_ev("spam link", chat=GROUP, sender=MEMBER, msg_id="M1"))
    sent = len(fake.sent)
    wired.deliver(make_revoke_ev("M1", chat=GROUP, sender=BOT, author=MEMBER, msg_id="R1", from_me=True))
    assert len(fake.sent) == sent and wired.results[-1][1].reason == "own"


def test_a_flood_of_deletes_is_bounded_and_the_loop_goes_on(wired, fake):
    antidelete_on(wired, fake)
    for n in range(40):
        wired.deliver(make_msg_ev(f"message {n}", chat=GROUP, sender=MEMBER, msg_id=f"M{n}"))
    sent = len(fake.sent)
    started = time.monotonic()
    for n in range(40):
        wired.deliver(make_revoke_ev(f"M{n}", chat=GROUP, sender=MEMBER, msg_id=f"R{n}"))
    for n in range(200):
        wired.deliver(make_revoke_ev(f"GONE{n}", chat=GROUP, sender=MEMBER, msg_id=f"RG{n}"))
    wired.deliver(make_revoke_ev("M0", chat=GROUP, sender=MEMBER, msg_id="R0"))  # redelivered: once only
    elapsed = time.monotonic() - started
    counts = wired.router.stats.counts_total()
    assert len(fake.sent) - sent == REPOSTS_PER_MINUTE == counts["history:delete_reposted"]
    assert counts["history:limited"] == 40 - REPOSTS_PER_MINUTE and counts["history:unknown"] == 200
    assert not CachedMessage.objects.exists()  # every deleted message is forgotten, posted or not
    assert elapsed < 20
    wired.deliver(make_msg_ev(".ping", chat=GROUP, sender=MEMBER, msg_id="P1"))
    assert "ong" in texts_sent(fake)[-1][1]


def test_reposts_can_go_to_the_owners_private_chat(wired, fake):
    antidelete_on(wired, fake)
    wired.deliver(make_msg_ev(".antidelete to owner", chat=GROUP, sender=ADMIN, msg_id="C2"))
    assert texts_sent(fake)[-1][1] == "Reposts of deleted and edited messages now go to the owner's private chat."
    wired.deliver(make_msg_ev("psst", chat=GROUP, sender=MEMBER, msg_id="M1"))
    wired.deliver(make_revoke_ev("M1", chat=GROUP, sender=MEMBER, msg_id="R1"))
    to, text = texts_sent(fake)[-1]
    assert to == "15559990000" and text.startswith(f"In chat {GROUP_STR}\n🗑️ Deleted message") and text.endswith("psst")
