"""Group commands through router, handler and outbound into the in-memory transport."""

from __future__ import annotations

import pytest

from bot.models import GroupSettings, Warning
from bot.transport.base import GroupChange, Participant, Reply, SendResult
from tests.bot.dispatch_kit import ALICE, BOB, CAROL, GROUP, OWNER, group_info, make_bot

pytestmark = pytest.mark.django_db

BOB_LID = "80000000003@lid"


@pytest.fixture
def bot(settings):
    bot = make_bot(settings)
    bot.add_group(group_info(admins=(ALICE,), members=(ALICE, BOB, CAROL, OWNER)))
    return bot


def actions(sent: list[Reply]) -> list[tuple[str, tuple[str, ...], str]]:
    return [(r.action, r.targets, r.text) for r in sent if r.kind == "group"]


def say_texts(sent: list[Reply]) -> list[str]:
    return [r.text for r in sent if r.kind == "text"]


def test_tagall_mentions_every_member_but_the_bot(bot):
    sent = bot.run(".tagall meeting at 5", chat=GROUP)
    assert len(sent) == 1
    reply = sent[0]
    assert reply.text.startswith("meeting at 5\n")
    assert set(reply.mentions) == {ALICE, BOB, CAROL, OWNER}
    assert "@15550000003" in reply.text and "@10000000001" not in reply.text


def test_members_cannot_use_admin_commands(bot):
    assert bot.run_text(".tagall", chat=GROUP, sender=BOB) == "Only group admins can use this command."
    assert bot.run_text(".kick", chat=GROUP, sender=BOB, mentions=(CAROL,)) == "Only group admins can use this command."


def test_kick_removes_the_mentioned_members(bot):
    sent = bot.run(".kick @bob @carol", chat=GROUP, mentions=(BOB, CAROL))
    assert actions(sent) == [("remove", (BOB, CAROL), "")]
    assert say_texts(sent) == ["Removed @15550000003, @15550000004."]


def test_kick_takes_the_quoted_sender(bot):
    sent = bot.run(".kick", chat=GROUP, quoted_sender=BOB)
    assert actions(sent) == [("remove", (BOB,), "")]


def test_kick_refuses_the_bot_the_creator_and_the_owner(bot):
    bot.add_group(group_info(admins=(ALICE,), members=(BOB, OWNER), super_admins=(CAROL,)))
    sent = bot.run(
        ".kick", chat=GROUP, mentions=("10000000001@s.whatsapp.net", CAROL, OWNER, "15559999999@s.whatsapp.net")
    )
    assert actions(sent) == []
    text = say_texts(sent)[0]
    assert "(that's me)" in text and "(the group's creator)" in text
    assert "(the bot owner)" in text and "(not in this group)" in text


def test_kick_without_a_target_shows_the_usage(bot):
    assert bot.run_text(".kick", chat=GROUP).startswith("Mention someone or reply to their message. Usage: .kick")


def test_acting_commands_say_when_the_bot_is_not_admin(bot):
    bot.add_group(group_info(admins=(ALICE,), bot_admin=False))
    for text in (".kick", ".add 15551112222", ".promote", ".mute", ".link", ".setname x"):
        assert "I need to be a group admin" in bot.run_text(text, chat=GROUP, mentions=(BOB,))
    assert bot.transport.sent and not actions(bot.transport.sent)


def test_add_takes_phone_numbers(bot):
    sent = bot.run(".add +1 555 000 1234, 15550000003 hello", chat=GROUP)
    assert actions(sent) == [("add", ("15550001234@s.whatsapp.net",), "")]
    assert say_texts(sent) == ["Adding @15550001234.", "Not phone numbers: hello"]
    bot.clock.advance(10)
    assert bot.run_text(".add", chat=GROUP).startswith("Give at least one phone number.")


def test_promote_and_demote_change_roles_and_skip_the_unchanged(bot):
    sent = bot.run(".promote", chat=GROUP, mentions=(BOB, ALICE))
    assert actions(sent) == [("promote", (BOB,), "")]
    assert say_texts(sent) == ["@15550000003 is now an admin.", "Unchanged: @15550000002 (already admin)."]
    sent = bot.run(".demote", chat=GROUP, mentions=(ALICE,))
    assert actions(sent) == [("demote", (ALICE,), "")]
    assert bot.run(".demote", chat=GROUP, mentions=(CAROL,))[-1].text == "Unchanged: @15550000004 (not an admin)."


def test_groupinfo_describes_the_group(bot):
    text = bot.run_text(".groupinfo", chat=GROUP, sender=BOB)
    assert text.startswith("*Kit Group*\nMembers: 5, admins: 2")
    assert "Welcome messages: off, antilink: off" in text


def test_link_and_revoke_answer_with_the_invite_link(bot):
    assert bot.run_text(".link", chat=GROUP).endswith("https://chat.whatsapp.com/KIT0001")
    revoked = bot.run_text(".revoke", chat=GROUP)
    assert "no longer works" in revoked and revoked.endswith("https://chat.whatsapp.com/KIT0002")
    invite_actions = [r.action for r in bot.transport.sent if r.kind == "group"]
    assert invite_actions == ["invite_link", "revoke_link"]


def test_link_says_so_when_whatsapp_gives_no_link(bot, monkeypatch):
    monkeypatch.setattr(bot.transport, "send", lambda reply: SendResult(id="NOLINK"))
    assert "couldn't get the invite link" in bot.say(".link", chat=GROUP).replies[0].text


def test_mute_and_unmute(bot):
    assert actions(bot.run(".mute", chat=GROUP)) == [("announce", (), "")]
    assert actions(bot.run(".unmute", chat=GROUP)) == [("unannounce", (), "")]


def test_setname_and_setdesc(bot):
    assert actions(bot.run(".setname The New Name", chat=GROUP)) == [("name", (), "The New Name")]
    assert actions(bot.run('.setdesc Rules: be "nice"', chat=GROUP)) == [("topic", (), 'Rules: be "nice"')]
    bot.clock.advance(10)  # setname has a cooldown
    assert bot.run_text(".setname", chat=GROUP).startswith("Give the new name.")
    bot.clock.advance(10)
    assert "at most 100" in bot.run_text(".setname " + "x" * 101, chat=GROUP)


# -- welcome and goodbye ------------------------------------------------------------------------------------
def test_welcome_greets_joiners_and_says_goodbye_when_on(bot):
    assert bot.change(GroupChange(chat=GROUP, joined=(CAROL,))).replies == []
    assert bot.run_text(".welcome on", chat=GROUP).startswith("Welcome messages on")
    joined = bot.change(GroupChange(chat=GROUP, joined=("15557770000@s.whatsapp.net",)))
    assert joined.replies[0].text.startswith("Welcome @15557770000 to *Kit Group*!")
    assert joined.replies[0].mentions == ("15557770000@s.whatsapp.net",)
    left = bot.change(GroupChange(chat=GROUP, left=(BOB,)))
    assert left.replies[0].text == "Goodbye @15550000003. Take care!"
    bot.run(".welcome off", chat=GROUP)
    assert bot.change(GroupChange(chat=GROUP, joined=(BOB,))).replies == []


def test_welcome_is_persisted(bot, settings):
    bot.run(".welcome on", chat=GROUP)
    assert GroupSettings.objects.get(session_name="kit", chat=GROUP).welcome
    again = make_bot(settings)
    again.add_group(group_info(admins=(ALICE,)))
    assert again.change(GroupChange(chat=GROUP, joined=("15557770000@s.whatsapp.net",))).replies


def test_the_bot_leaving_a_group_forgets_it(bot):
    bot.run(".welcome on", chat=GROUP)
    result = bot.change(GroupChange(chat=GROUP, left=("10000000001@s.whatsapp.net",)))
    assert result.replies == [] and result.reason == "bot_left"
    assert not GroupSettings.objects.filter(chat=GROUP).exists()


# -- antilink ----------------------------------------------------------------------------------------------------
def test_antilink_deletes_a_members_link_and_warns(bot):
    assert bot.run_text(".antilink on", chat=GROUP) == "*antilink*: on, warn"
    message_sent = bot.run("join my group https://chat.whatsapp.com/AbC", chat=GROUP, sender=BOB)
    deleted = [r for r in message_sent if r.kind == "delete"]
    assert len(deleted) == 1 and deleted[0].target == BOB
    assert say_texts(message_sent) == ["@15550000003 warning 1/3. Reason: sent a link (antilink is on)."]


def test_antilink_leaves_admins_owners_and_plain_text_alone(bot):
    bot.run(".antilink on", chat=GROUP)
    assert bot.run("see https://example.com", chat=GROUP, sender=ALICE) == []
    assert bot.run("see https://example.com", chat=GROUP, sender=OWNER) == []
    assert bot.run("no links here, just words.", chat=GROUP, sender=BOB) == []


def test_antilink_removes_at_the_third_link(bot):
    bot.run(".antilink on", chat=GROUP)
    for _ in range(2):
        bot.run("www.spam.example", chat=GROUP, sender=BOB)
    third = bot.run("www.spam.example", chat=GROUP, sender=BOB)
    assert ("remove", (BOB,), "") in actions(third)
    assert "reached 3 warnings and is removed" in say_texts(third)[0]
    assert Warning.objects.filter(chat=GROUP).count() == 0  # reset after removal


def test_antilink_without_admin_rights_says_so_once_and_does_nothing(bot):
    bot.add_group(group_info(admins=(ALICE,), bot_admin=False))
    assert "I am not a group admin here" in bot.run_text(".antilink on", chat=GROUP)
    sent = bot.run("https://example.com", chat=GROUP, sender=BOB)
    assert [r.kind for r in sent] == ["text"] and "I need to be a group admin" in sent[0].text
    assert bot.run("https://example.com again", chat=GROUP, sender=BOB) == []  # once per group, not per message
    assert not Warning.objects.exists()


def test_antilink_off_lets_links_through(bot):
    bot.run(".antilink on", chat=GROUP)
    bot.run(".antilink off", chat=GROUP)
    assert bot.run("https://example.com", chat=GROUP, sender=BOB) == []


# -- warnings ----------------------------------------------------------------------------------------------------
def test_warn_counts_up_and_the_third_removes(bot):
    assert (
        bot.run_text(".warn @bob spamming", chat=GROUP, mentions=(BOB,))
        == "@15550000003 warning 1/3. Reason: spamming."
    )
    assert bot.run_text(".warn", chat=GROUP, quoted_sender=BOB).startswith("@15550000003 warning 2/3.")
    third = bot.run(".warn", chat=GROUP, mentions=(BOB,))
    assert ("remove", (BOB,), "") in actions(third)


def test_warnings_lists_and_resetwarn_clears(bot):
    bot.run(".warn @bob spam", chat=GROUP, mentions=(BOB,))
    listed = bot.run_text(".warnings", chat=GROUP, sender=CAROL, mentions=(BOB,))
    assert listed.startswith("@15550000003 has 1/3 warnings:") and "spam" in listed
    assert bot.run_text(".warnings", chat=GROUP, sender=BOB).startswith("@15550000003 has 1/3")
    assert bot.run_text(".resetwarn", chat=GROUP, mentions=(BOB,)) == "Cleared 1 warning(s) of @15550000003."
    assert bot.run_text(".warnings", chat=GROUP, sender=BOB) == "@15550000003 has no warnings."


def test_admins_and_the_bot_cannot_be_warned(bot):
    assert "admins can't be warned" in bot.run_text(".warn", chat=GROUP, mentions=(ALICE,))
    assert bot.run_text(".warn", chat=GROUP, mentions=("10000000001@s.whatsapp.net",)) == "I won't warn myself."


def test_a_lid_member_is_one_person_for_warnings(bot):
    """A member seen as a LID (mention) and as a phone (sender_alt) collects warnings under one key."""
    info = group_info(admins=(ALICE,), members=(CAROL,))
    info = info.__class__(
        chat=info.chat, name=info.name, participants=(*info.participants, Participant(jid=BOB_LID, phone="15550000003"))
    )
    bot.add_group(info)
    bot.run(".warn", chat=GROUP, mentions=(BOB_LID,))
    assert bot.run_text(".warnings", chat=GROUP, sender=BOB_LID, sender_alt=BOB).startswith("@80000000003 has 1/3")
    assert Warning.objects.get().user == "15550000003"


def test_a_member_whose_join_was_missed_is_known_from_their_first_message(bot):
    newcomer = "15558880000@s.whatsapp.net"
    bot.run(".groupinfo", chat=GROUP)  # metadata cached before they joined
    bot.run("hi, I'm new", chat=GROUP, sender=newcomer)  # no join event was seen for them
    sent = bot.run(".kick", chat=GROUP, mentions=(newcomer,))
    assert actions(sent) == [("remove", (newcomer,), "")]
    assert bot.transport.group_info_calls == 1


def test_a_welcome_names_a_group_the_bot_had_not_cached(settings):
    fresh = make_bot(settings)
    fresh.transport.groups[GROUP] = group_info(admins=(ALICE,), name="Hiking")
    fresh.router.state.set_group(GROUP, welcome=True)
    assert fresh.change(GroupChange(chat=GROUP, promoted=(BOB,))).replies == []  # no member came or went
    assert fresh.transport.group_info_calls == 0
    joined = fresh.change(GroupChange(chat=GROUP, joined=(CAROL,)))
    assert joined.replies[0].text.startswith("Welcome @15550000004 to *Hiking*!")
    assert fresh.transport.group_info_calls == 1
