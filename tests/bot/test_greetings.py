"""Greetings from real neonize group events (``GroupInfoEv`` join/leave/promote/demote, ``JoinedGroupEv``)
through the real ``NeonizeTransport`` and a fake Go FFI, and the greeting commands through the kit:
templates with placeholders, goodbye and role-notice switches, the group picture, and bad templates
refused before anything is stored."""

from __future__ import annotations

import httpx
import pytest

pytest.importorskip("neonize")

from neonize.events import GroupInfoEv, JoinedGroupEv  # noqa: E402
from neonize.proto import Neonize_pb2 as N  # noqa: E402

from bot.models import GreetingSettings  # noqa: E402
from bot.transport.base import GroupChange, Media  # noqa: E402
from bot.transport.neonize.translate import translate_group_info  # noqa: E402
from tests.bot.dispatch_kit import ALICE, BOB, CAROL, GROUP, group_info, make_bot  # noqa: E402
from tests.bot.fixtures.neonize_events import FakeGo, make_msg_ev  # noqa: E402
from tests.bot.test_router_neonize import (  # noqa: E402
    ADMIN,
    BOT,
    GROUP_STR,
    MEMBER_LID,
    NEWCOMER_LID,
    group_event,
    neonize_group,
    texts_sent,
)
from tests.bot.test_router_neonize import GROUP as GROUP_JID  # noqa: E402
from tests.bot.test_router_neonize import fake as fake  # noqa: E402,F401  the fixtures, reused
from tests.bot.test_router_neonize import wired as wired  # noqa: E402,F401

pytestmark = pytest.mark.django_db

MEMBER_LID_STR = f"{MEMBER_LID.User}@lid"
JPEG = b"\xff\xd8\xff\xe0" + b"picture" * 100


class PictureGo(FakeGo):
    """The fake FFI, answering ``GetProfilePicture`` with a CDN address (or an error)."""

    picture_error = ""

    def GetProfilePicture(self, uuid, jid_b, jid_len, extra_b, extra_len) -> bytes:  # noqa: N802
        if self.picture_error:
            return N.GetProfilePictureReturnFunction(Error=self.picture_error).SerializeToString()
        info = N.ProfilePictureInfo(URL="https://pps.whatsapp.net/v/group.jpg", ID="1", Type="image", DirectPath="/v")
        return N.GetProfilePictureReturnFunction(Picture=info).SerializeToString()


@pytest.fixture
def picture_go(wired) -> PictureGo:
    go = PictureGo()
    wired.transport.client._NewClient__client = go
    wired.transport.picture_http = httpx.MockTransport(lambda request: httpx.Response(200, content=JPEG))
    return go


def say(wired, text: str, msg_id: str) -> str:
    wired.deliver(make_msg_ev(text, chat=N.JID(User="120363012345678901", Server="g.us"), sender=ADMIN, msg_id=msg_id))
    return texts_sent(wired.transport.client._NewClient__client)[-1].text


# -- real neonize events ------------------------------------------------------------------------------------------
def test_a_template_fills_every_placeholder_from_a_real_join(wired, fake):
    info = neonize_group()
    info.GroupTopic.Topic = "Books, monthly."
    info.Participants[2].DisplayName = "Mia"
    wired.router.groups.put(translate_group_info(info))
    wired.router.state.set_group(GROUP_STR, welcome=True)
    assert say(wired, ".welcome set Hi {mention} ({name}) - {group}: {desc} We are {count}.", "T1").startswith("Saved.")
    wired.deliver(group_event(Join=[MEMBER_LID]))  # a member whose name the group info gives
    text = texts_sent(fake)[-1]
    assert text.text == "Hi @98765432100002 (Mia) - Book club: Books, monthly. We are 3."
    assert list(text.contextInfo.mentionedJID) == ["98765432100002@lid"]


def test_a_real_leave_says_the_goodbye_template_even_with_welcomes_off(wired, fake):
    say(wired, ".goodbye set Bye {mention}, {count} of us left in {group}.", "G1")
    say(wired, ".goodbye on", "G2")
    wired.deliver(group_event(Leave=[MEMBER_LID]))
    assert texts_sent(fake)[-1].text == "Bye @98765432100002, 2 of us left in Book club."
    wired.deliver(group_event(Join=[NEWCOMER_LID]))  # welcomes stay off
    assert texts_sent(fake)[-1].text.startswith("Bye")


def test_real_promote_and_demote_events_are_announced_only_when_asked(wired, fake):
    wired.deliver(group_event(Promote=[MEMBER_LID]))
    assert texts_sent(fake) == []
    assert say(wired, ".rolenotice on", "R1") == "Promote/demote notices on."
    wired.deliver(group_event(Promote=[MEMBER_LID]))
    assert texts_sent(fake)[-1].text == "@98765432100002 is now an admin."
    wired.deliver(group_event(Demote=[MEMBER_LID]))
    assert texts_sent(fake)[-1].text == "@98765432100002 is no longer an admin."
    before = len(fake.sent)
    own = GroupInfoEv(JID=GROUP_JID, Sender=BOT, Timestamp=1764331300, Promote=[MEMBER_LID])
    wired.deliver(own)  # the bot's own .promote said so already
    assert len(fake.sent) == before


def test_the_bot_joining_a_group_greets_nobody(wired, fake):
    wired.router.state.set_group(GROUP_STR, welcome=True)
    wired.deliver(JoinedGroupEv(GroupInfo=neonize_group(), Sender=ADMIN, Reason="invite", Type="new"))
    assert fake.sent == [] and wired.results[-1].reason == "no_members"


def test_a_welcome_with_the_group_picture_uploads_it_with_the_caption(wired, picture_go):
    wired.router.state.set_group(GROUP_STR, welcome=True)
    say(wired, ".welcome image on", "I1")
    wired.deliver(group_event(Join=[NEWCOMER_LID]))
    [(data, _kind)] = picture_go.uploads
    assert data == JPEG
    image = picture_go.sent[-1][1].imageMessage
    assert image.caption.startswith("Welcome @98765432100003 to *Book club*!")
    assert list(image.contextInfo.mentionedJID) == ["98765432100003@lid"]


def test_a_group_without_a_picture_is_welcomed_in_text(wired, picture_go):
    picture_go.picture_error = "the group has no profile picture"
    wired.router.state.set_group(GROUP_STR, welcome=True)
    say(wired, ".welcome image on", "I2")
    wired.deliver(group_event(Join=[NEWCOMER_LID]))
    assert picture_go.uploads == []
    assert texts_sent(picture_go)[-1].text.startswith("Welcome @98765432100003 to *Book club*!")


# -- commands through the kit ------------------------------------------------------------------------------------------
@pytest.fixture
def bot(settings):
    bot = make_bot(settings)
    bot.add_group(group_info(admins=(ALICE,), members=(ALICE, BOB, CAROL)))
    return bot


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (".welcome set Hi {user}!", "Unknown placeholder {user}. You can use {mention} {name} {group} {desc} {count}."),
        (".welcome set " + "x" * 5000, "at most 1000 characters; this one has 5000"),
        (".goodbye set {0.__class__} bye", "Unknown placeholder"),
        (".welcome set", "Give the text"),
    ],
)
def test_bad_templates_get_one_reply_and_store_nothing(bot, command, words):
    sent = bot.run(command, chat=GROUP)
    assert len(sent) == 1 and words in sent[0].text
    assert not GreetingSettings.objects.exists()


def test_welcome_test_shows_the_template_for_the_sender(bot):
    bot.run(".welcome set Hello {mention} :-{ {}\nwe are {count} in {group}", chat=GROUP)
    [reply] = bot.run(".welcome test", chat=GROUP)
    assert reply.text == "Hello @15550000002 :-{ {}\nwe are 4 in Kit Group" and reply.mentions == (ALICE,)


def test_goodbye_off_keeps_welcomes(bot):
    bot.run(".welcome on", chat=GROUP)
    assert bot.run_text(".goodbye off", chat=GROUP) == "Goodbye messages off."
    assert bot.change(GroupChange(chat=GROUP, left=(BOB,))).replies == []
    assert bot.change(GroupChange(chat=GROUP, joined=("15557770000@s.whatsapp.net",))).replies
    bot.run(".goodbye reset", chat=GROUP)
    assert bot.change(GroupChange(chat=GROUP, left=(CAROL,))).replies[0].text == "Goodbye @15550000004. Take care!"


def test_only_admins_change_greetings(bot):
    assert bot.run_text(".welcome set hi", chat=GROUP, sender=BOB) == "Only group admins can use this command."
    assert not GreetingSettings.objects.exists()


def test_the_picture_welcome_falls_back_to_text_without_a_picture(settings):
    pictures = [Media(data=JPEG, mimetype="image/jpeg")]
    bot = make_bot(settings)
    bot.transport.group_picture = lambda chat: pictures[-1]
    bot.add_group(group_info(admins=(ALICE,)))
    bot.run(".welcome image on", chat=GROUP)
    [image] = bot.run(".welcome test", chat=GROUP)
    assert (image.kind, image.media.data, image.mentions) == ("image", JPEG, (ALICE,))
    pictures.append(None)
    [text] = bot.run(".welcome test", chat=GROUP)
    assert text.kind == "text" and text.text.startswith("Welcome @15550000002 to *Kit Group*!")


def test_member_names_come_from_the_phone_number_when_whatsapp_gives_none(bot):
    bot.run(".welcome on", chat=GROUP)
    bot.run(".welcome set hi {name}", chat=GROUP)
    joined = bot.change(GroupChange(chat=GROUP, joined=("15557770000@s.whatsapp.net", MEMBER_LID_STR)))
    assert joined.replies[0].text == "hi +15557770000, @98765432100002"
