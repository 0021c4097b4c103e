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


def test_a_spanish_chat_gets_every_reply_in_spanish_and_the_others_stay_english(bot):
    assert bot.run_text(".lang es", sender=ALICE) == "A partir de ahora respondo aquí en Español."
    bot.clock.advance(10)
    assert bot.run_text(".xyzzy", sender=ALICE) == "Comando desconocido: .xyzzy. Envía .menu para ver la lista."
    assert bot.run_text(".restart", sender=ALICE) == "Solo el dueño del bot puede usar este comando."
    help_lines = bot.run_text(".help ping", sender=ALICE).splitlines()
    assert help_lines[:3] == [
        "*.ping* - Comprueba que el bot responde y con qué rapidez.",
        "Uso: .ping",
        "Quién: todos - Dónde: en cualquier chat",
    ]
    menu = bot.run_text(".menu", sender=ALICE)
    assert "*Básicos*" in menu and "Envía .help <comando> para ver los detalles." in menu
    hug = [r for r in bot.run(".hug", sender=ALICE) if r.kind in {"video", "text"}][0]
    assert hug.text == "@15550000002 quiere un abrazo 🤗"
    assert bot.run_text(".roll 0d6", sender=ALICE) == "No puedo tirar eso: tira entre 1 y 20 dados."
    assert bot.run_text(".xyzzy", sender=BOB) == "Unknown command .xyzzy. Send .menu for the list."


def test_a_group_in_spanish_welcomes_in_spanish(bot):
    from bot.transport.base import GroupChange

    bot.add_group(group_info(admins=(BOB,)))
    bot.run_text(".welcome on", chat=GROUP, sender=BOB)
    bot.run_text(".lang es", chat=GROUP, sender=BOB)
    result = bot.change(GroupChange(chat=GROUP, joined=("15550000009@s.whatsapp.net",)))
    assert result.replies[0].text.startswith("¡Bienvenido/a @15550000009 a *Kit Group*! Saluda y envía .menu")


def test_the_owners_alerts_come_in_the_sessions_language(bot):
    from datetime import UTC, datetime, timedelta

    from django.utils import translation
    from django.utils.translation import gettext_lazy

    from bot.child.listening import Listening
    from bot.child.outage_notice import outage_message

    bot.run_text(".setvar BOT_LANG=es", sender=OWNER)
    queued = []

    class Child(Listening):
        session_name = "kit"

        def _queue_replies(self, replies, *, answers):
            queued.extend(replies)

    Child()._tell_owners(gettext_lazy("WhatsApp stopped answering this bot while it looked connected; it reconnected."))
    assert (
        queued[0].text == "WhatsApp dejó de responder a este bot mientras parecía conectado; se ha vuelto a conectar."
    )
    down = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    with translation.override("es"):
        text = outage_message(down_since=down, back_at=down + timedelta(minutes=12), reason="crash", bot_name="Kit")
    assert text == (
        "✅ Kit vuelve a estar en línea.\nEstuvo desconectado durante 12 min (de 2026-01-02 03:04 a 03:16 UTC).\n"
        "Motivo: el proceso del bot falló y se reinició."
    )
