"""``.afk``, ``.poll``, ``.hidetag``, the private mode and sudo users through router, handler and outbound
into the in-memory transport; bad input gets one clear reply and leaves bounded state."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from bot.commands.utility import POLL_OPTION_MAX, PollError, poll_parse
from bot.models import AwayStatus, BannedUser
from tests.bot.dispatch_kit import ALICE, ALICE_LID, BOB, CAROL, GROUP, OWNER, group_info, make_bot

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SUDO = "15550000009@s.whatsapp.net"


@pytest.fixture
def bot(settings):
    settings.SUDO_NUMBERS = ["15550000009"]
    bot = make_bot(settings)
    bot.add_group(group_info(admins=(ALICE,), members=(ALICE, BOB, CAROL, OWNER, SUDO)))
    return bot


def texts(sent) -> list[str]:
    return [r.text for r in sent if r.kind == "text"]


# -- afk --------------------------------------------------------------------------------------------------------
def test_afk_answers_mentions_once_per_chat_every_ten_minutes_and_clears_on_their_next_message(bot):
    with time_machine.travel(T0, tick=False) as traveller:
        assert bot.run_text(".afk lunch", chat=GROUP, sender=BOB).startswith("You're away now. Reason: lunch")
        traveller.shift(timedelta(minutes=5))
        first = bot.run("@bob?", chat=GROUP, sender=ALICE, mentions=(BOB,))
        assert texts(first) == ["@15550000003 is away since 2026-12-03 09:00 UTC (5m ago): lunch"]
        assert first[0].mentions == (BOB,)
        assert bot.run("@bob??", chat=GROUP, sender=CAROL, mentions=(BOB,)) == []  # the same chat within 10 min
        assert len(bot.run("hey", chat=CAROL, sender=CAROL, quoted_sender=BOB)) == 1  # a reply in another chat
        bot.clock.advance(601)
        assert len(bot.run("@bob!!", chat=GROUP, sender=ALICE, mentions=(BOB,))) == 1
        traveller.shift(timedelta(hours=2))
        assert texts(bot.run("I'm back", chat=GROUP, sender=BOB)) == [
            "Welcome back @15550000003! You were away for 2h 5m."
        ]
        assert bot.run("@bob", chat=GROUP, sender=ALICE, mentions=(BOB,)) == []
    assert not AwayStatus.objects.exists()


def test_afk_knows_a_lid_sender_by_its_phone_too(bot):
    bot.run(".afk", sender=ALICE_LID, sender_alt=ALICE)
    sent = bot.run("ping @alice", chat=GROUP, sender=BOB, mentions=(ALICE,))
    assert len(sent) == 1 and sent[0].text.endswith(" ago).")


def test_afk_survives_a_restart(settings, bot):
    bot.run(".afk off to sleep", sender=BOB)
    again = make_bot(settings)
    assert texts(again.run("@bob", chat=GROUP, sender=ALICE, mentions=(BOB,)))[0].endswith(": off to sleep")


def test_a_64_kb_reason_gets_one_reply_and_marks_nobody(bot):
    sent = bot.run(".afk " + "z" * 65000, sender=BOB)
    assert texts(sent) == ["That reason is 65000 characters long; 500 at most, please."]
    assert not AwayStatus.objects.exists()
    assert bot.run_text(".ping", sender=ALICE).startswith("pong")


# -- poll ---------------------------------------------------------------------------------------------------------
def test_a_poll_is_a_poll_reply_with_its_options(bot):
    (reply,) = bot.run('.poll "Where to?" beach | mountains', chat=GROUP, sender=BOB)
    assert (reply.kind, reply.chat, reply.text, reply.options) == ("poll", GROUP, "Where to?", ("beach", "mountains"))


@pytest.mark.parametrize(
    ("text", "question", "options"),
    [
        ('"Lunch?" pizza | sushi', "Lunch?", ["pizza", "sushi"]),
        ("\u201cLunch | now?\u201d pizza|sushi|", "Lunch | now?", ["pizza", "sushi"]),
        ("Lunch? | pizza | sushi", "Lunch?", ["pizza", "sushi"]),
    ],
)
def test_poll_parse_reads_the_question_and_the_options(text, question, options):
    assert poll_parse(text) == (question, options)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ('"Lunch?" pizza', "this one has 1."),
        ('"Lunch?" ' + " | ".join(f"o{n}" for n in range(100)), "this one has 100."),
        ('"Lunch?" a | ' + "x" * 10_000, f"Option 2 is 10000 characters long; WhatsApp allows {POLL_OPTION_MAX}."),
        ('"Lunch?" a | A', "Each option must be different"),
        ('"" a | b', "A poll needs a question."),
        ('"' + "q" * 300 + '" a | b', "The question is 300 characters long"),
    ],
)
def test_a_bad_poll_gets_one_clear_reply_and_no_poll(bot, args, words):
    sent = bot.run(".poll " + args, chat=GROUP, sender=BOB)
    assert [r.kind for r in sent] == ["text"]
    assert words in sent[0].text and 'Usage: .poll "question"' in sent[0].text
    with pytest.raises(PollError):
        poll_parse(args)


# -- hidetag ------------------------------------------------------------------------------------------------------
def test_hidetag_mentions_every_member_but_the_bot_and_lists_nobody(bot):
    (reply,) = bot.run(".hidetag pizza is here", chat=GROUP, sender=ALICE)
    assert reply.text == "pizza is here" and reply.reply_to == ""
    assert set(reply.mentions) == {ALICE, BOB, CAROL, OWNER, SUDO}


def test_hidetag_is_for_group_admins_and_needs_a_text(bot):
    assert bot.run_text(".hidetag hi", chat=GROUP, sender=BOB) == "Only group admins can use this command."
    assert bot.run_text(".hidetag", chat=GROUP, sender=ALICE) == "Write the message to send. Usage: .hidetag text"
    assert bot.run_text(".hidetag hi", sender=ALICE) == "This command works in groups only."


# -- mode and sudo ------------------------------------------------------------------------------------------------
def test_a_private_bot_answers_owners_and_sudo_users_only(settings):
    settings.SUDO_NUMBERS, settings.BOT_MODE = ["15550000009"], "private"
    bot = make_bot(settings)
    assert bot.run(".ping", sender=ALICE) == [] and bot.results[-1].reason == "private"
    assert bot.run_text(".ping", sender=OWNER).startswith("pong")
    assert bot.run_text(".ping", sender=SUDO).startswith("pong")


def test_sudo_users_have_owner_rights_but_the_maintenance_commands(bot):
    assert bot.run_text(".ban 15550000003", sender=SUDO).endswith("is banned: I'll ignore their commands.")
    assert BannedUser.objects.filter(phone="15550000003").exists()
    for text in (".backup", ".restart", ".maintenance on", ".setprefix !"):
        assert bot.run_text(text, sender=SUDO) == "Only the bot owner can use this command."
    assert bot.run(".hidetag hi", chat=GROUP, sender=SUDO)[0].kind == "text"  # past the group-admin check
    menu = bot.run_text(".menu", sender=SUDO)
    assert ".ban" in menu and ".backup" not in menu
    assert ".ban" not in bot.run_text(".menu", sender=CAROL)


def test_a_sudo_user_set_from_the_chat_is_one_at_once_and_the_mode_too(bot):
    assert bot.run_text(".banlist", sender=CAROL) == "Only the bot owner or a sudo user can use this command."
    bot.run_text(".setvar SUDO=15550000004", sender=OWNER)  # another bot's name, read as SUDO_NUMBERS
    assert bot.run_text(".banlist", sender=CAROL) == "Nobody is banned."
    bot.run_text(".setvar BOT_MODE=private", sender=OWNER)
    assert bot.run(".ping", sender=BOB) == [] and bot.run_text(".ping", sender=CAROL).startswith("pong")


def test_the_console_prints_a_poll_as_one_line_with_its_options(bot):
    from bot.transport.console_media import reply_render

    (reply,) = bot.run('.poll "Tea or coffee?" tea | coffee', chat=GROUP, sender=BOB)
    assert reply_render(reply) == {
        "chat": GROUP,
        "kind": "poll",
        "text": "Tea or coffee?",
        "options": ["tea", "coffee"],
        "mentions": [],
        "reply_to": "",
        "mimetype": "text/plain",  # a new kind's content, as docs/console.md says: the question, then each option
        "bytes": len(b"Tea or coffee?\ntea\ncoffee"),
        "sha256": hashlib.sha256(b"Tea or coffee?\ntea\ncoffee").hexdigest(),
    }
