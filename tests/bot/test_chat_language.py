"""``.lang``: a chat's own language, stored per chat; BOT_LANG for the others."""

from __future__ import annotations

import pytest

from bot.models import ChatLanguage
from tests.bot.dispatch_kit import ALICE, BOB, GROUP, OWNER, group_info, make_bot

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(settings):
    return make_bot(settings)


def test_lang_without_a_code_says_which_and_what_is_available(bot):
    text = bot.run_text(".lang", sender=ALICE)
    assert text.startswith("Language here: English (en). Available: en (English), es (Español).")


def test_a_chat_chooses_its_language_and_keeps_it(bot, settings):
    bot.run_text(".lang es-MX", sender=ALICE)
    row = ChatLanguage.objects.get()
    assert (row.chat, row.language, row.set_by) == (ALICE, "es", "15550000002")
    assert bot.router.state.language(ALICE) == "es"
    assert bot.router.state.language(BOB) == "en"
    assert make_bot(settings).router.state.language(ALICE) == "es"
    bot.clock.advance(5)
    bot.run_text(".lang default", sender=ALICE)
    assert not ChatLanguage.objects.exists() and bot.router.state.language(ALICE) == "en"


@pytest.mark.parametrize("word", ["xx", "klingon", "x" * 10_000])
def test_an_unknown_language_gets_one_reply_and_nothing_is_stored(bot, word):
    text = bot.run_text(f".lang {word}", sender=ALICE)
    assert text.startswith("I don't speak ") and text.endswith("Available: en (English), es (Español).")
    assert len(text) < 200
    assert not ChatLanguage.objects.exists()


def test_in_a_group_only_admins_change_it(bot):
    bot.add_group(group_info(admins=(BOB,)))
    assert (
        bot.run_text(".lang es", chat=GROUP, sender=ALICE) == "Only group admins can change the language of this group."
    )
    assert not ChatLanguage.objects.exists()
    bot.clock.advance(5)
    bot.run_text(".lang es", chat=GROUP, sender=BOB)
    assert ChatLanguage.objects.get().chat == GROUP
    bot.run_text(".lang en", chat=GROUP, sender=OWNER)
    assert ChatLanguage.objects.get().language == "en"


def test_bot_lang_is_the_language_of_chats_without_their_own(bot):
    bot.run_text(".setvar BOT_LANG=es", sender=OWNER)
    assert bot.router.state.language(BOB) == "es"
