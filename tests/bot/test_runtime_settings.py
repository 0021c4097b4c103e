"""Runtime settings from the chat: .setvar/.getvar/.delvar/.allvar through router, handler and outbound."""

from __future__ import annotations

import logging

import pytest

from bot import runtime_settings
from bot.models import RuntimeSetting
from tests.bot.dispatch_kit import ALICE, BOB, OWNER, make_bot

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(settings):
    return make_bot(settings)


def test_setvar_changes_the_prefix_at_once_and_it_survives_a_restart(bot, settings):
    assert (
        bot.run_text(".setvar BOT_PREFIX=!", sender=OWNER) == "Saved: BOT_PREFIX = ! (set in the chat). In effect now."
    )
    assert bot.run(".ping", sender=ALICE) == []
    assert bot.run_text("!ping", sender=ALICE).startswith("pong")
    runtime_settings.cache_clear()
    assert make_bot(settings).run_text("!ping", sender=ALICE).startswith("pong")
    row = RuntimeSetting.objects.get()
    assert (row.session_name, row.name, row.value, row.set_by) == ("kit", "BOT_PREFIX", "!", "15550000001")


def test_getvar_and_delvar_show_the_source(bot):
    assert bot.run_text(".getvar BOT_PREFIX", sender=OWNER) == "BOT_PREFIX = . (default)"
    bot.run_text(".setvar BOT_PREFIX=#", sender=OWNER)
    assert bot.run_text("#getvar bot_prefix", sender=OWNER) == "BOT_PREFIX = # (set in the chat)"
    assert bot.run_text("#delvar BOT_PREFIX", sender=OWNER) == "Removed the chat's value: BOT_PREFIX = . (default)."
    assert (
        bot.run_text(".delvar BOT_PREFIX", sender=OWNER)
        == "BOT_PREFIX was not set in the chat: BOT_PREFIX = . (default)."
    )
    assert not RuntimeSetting.objects.exists()


def test_getvar_says_environment_when_the_variable_is_set(bot, monkeypatch):
    monkeypatch.setenv("BOT_NAME", "Kit")
    assert bot.run_text(".getvar BOT_NAME", sender=OWNER).endswith("(environment)")
    monkeypatch.setenv("HANDLERS", "^[.!]")
    assert bot.run_text(".getvar BOT_PREFIX", sender=OWNER).endswith("(environment, as HANDLERS)")


def test_another_bots_name_sets_ours(bot):
    assert bot.run_text(".setvar HANDLERS=!", sender=OWNER).startswith("Saved: BOT_PREFIX = !")
    assert RuntimeSetting.objects.get().name == "BOT_PREFIX"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (".setvar BOT_PREFX=!", "There is no setting called BOT_PREFX. Did you mean BOT_PREFIX? Send .allvar"),
        (".setvar NOPE=1", "There is no setting called NOPE. Send .allvar for the settings you can change."),
        (".setvar SECRET_KEY=x", "SECRET_KEY is a secret: it is never shown or changed in a chat."),
        (".setvar SESSION_ID=abc", "SESSION_ID is a secret"),
        (".setvar DATABASE_URL=sqlite:///x", "DATABASE_URL is a secret"),
        (".getvar SECRET_KEY", "SECRET_KEY is a secret"),
        (".setvar LOG_LEVEL=DEBUG", "LOG_LEVEL can only be changed in the environment"),
        (
            ".setvar USER_COMMANDS_BURST=0",
            "Not changed: USER_COMMANDS_BURST cannot be '0', it must be a whole number of commands from 1 to 100.",
        ),
        (".setvar BOT_PREFIX=abc", "Not changed: BOT_PREFIX cannot be 'abc', it must be 1 to 5 punctuation"),
        (".setvar BOT_NAME=", "Not changed: BOT_NAME cannot be '', it must be printable text of 1 to 64"),
        (".setvar BOT_LANG=xx", "Not changed: BOT_LANG cannot be 'xx', it must be one of the bot's languages: en"),
        (
            ".setvar BOT_NAME=" + "x" * 10_000,
            "Not changed: a value can have at most 2000 characters (this one has 10000).",
        ),
        (".setvar " + "N" * 10_000 + "=1", "There is no setting called " + "N" * 64 + "."),
        (".setvar", "Write the setting and its value. Usage: .setvar NAME=value"),
        (".setvar OWNER_NUMBERS=15550000002", "Not changed: your own number must stay in OWNER_NUMBERS"),
    ],
)
def test_bad_input_gets_one_clear_reply_and_nothing_is_stored(bot, text, expected):
    reply = bot.run_text(text, sender=OWNER)
    assert reply.startswith(expected), reply
    assert len(reply) < 400
    assert not RuntimeSetting.objects.exists()


def test_a_secret_value_is_never_read_back(bot, settings):
    reply = bot.run_text(".getvar SECRET_KEY", sender=OWNER)
    assert settings.SECRET_KEY not in reply
    assert "SECRET_KEY" not in bot.run_text(".allvar", sender=OWNER)


def test_only_owners_may_use_them(bot):
    for text in (".setvar BOT_PREFIX=!", ".getvar BOT_PREFIX", ".delvar BOT_PREFIX", ".allvar"):
        assert bot.run_text(text, sender=ALICE) == "Only the bot owner can use this command."
    assert not RuntimeSetting.objects.exists()


def test_allvar_lists_every_chat_setting_with_its_source(bot):
    bot.run_text(".setvar BOT_NAME=Kitty", sender=OWNER)
    lines = bot.run_text(".allvar", sender=OWNER).splitlines()
    assert lines[0] == "*Settings* (change one with .setvar NAME=value)"
    assert "BOT_NAME = Kitty (set in the chat)" in lines
    assert "USER_COMMANDS_BURST = 5 (default)" in lines
    assert {line.split(" = ")[0] for line in lines[1:]} >= {"BOT_PREFIX", "OWNER_NUMBERS", "BOT_LANG"}


def test_a_new_owner_is_an_owner_at_once(bot):
    assert bot.run_text(".banlist", sender=BOB) == "Only the bot owner or a sudo user can use this command."
    bot.run_text(".setvar OWNER_NUMBERS=15550000001,15550000003", sender=OWNER)
    assert bot.run_text(".banlist", sender=BOB) == "Nobody is banned."


def test_the_rate_limit_changes_at_once(settings):
    bot = make_bot(settings, user_per_minute=0)
    for _ in range(3):
        assert bot.run_text(".flip", sender=ALICE)
        bot.clock.advance(3)
    bot.run_text(".setvar USER_COMMANDS_PER_MINUTE=1", sender=OWNER)
    bot.run_text(".setvar USER_COMMANDS_BURST=1", sender=OWNER)
    assert bot.run_text(".flip", sender=ALICE)
    bot.clock.advance(3)
    assert "too fast" in bot.run_text(".flip", sender=ALICE)


def test_a_row_changed_elsewhere_lands_when_the_cache_expires(bot, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(runtime_settings.time, "monotonic", lambda: now[0])
    assert runtime_settings.runtime_value("BOT_NAME", session="kit") == "BLACKSKY-MD"
    RuntimeSetting.objects.create(session_name="kit", name="BOT_NAME", value="Edited")  # the admin, another process
    assert runtime_settings.runtime_value("BOT_NAME", session="kit") == "BLACKSKY-MD"
    now[0] += runtime_settings.CACHE_SECONDS
    assert runtime_settings.runtime_value("BOT_NAME", session="kit") == "Edited"
    assert runtime_settings.runtime_value("BOT_NAME", session="other") == "BLACKSKY-MD"


def test_a_stored_value_the_parser_refuses_is_ignored_with_one_line(bot, caplog, settings):
    RuntimeSetting.objects.create(session_name="kit", name="USER_COMMANDS_BURST", value="5000")
    RuntimeSetting.objects.create(session_name="kit", name="LOG_LEVEL", value="DEBUG")  # not chat-settable
    with caplog.at_level(logging.WARNING, logger="bot.runtime_settings"):
        for _ in range(3):
            runtime_settings.cache_clear()
            assert runtime_settings.runtime_value("USER_COMMANDS_BURST", session="kit") == 5
            assert runtime_settings.runtime_value("LOG_LEVEL", session="kit") == settings.LOG_LEVEL
    ignored = [r for r in caplog.records if r.getMessage().startswith("runtime setting ignored")]
    assert len(ignored) == 2


def test_the_admin_checks_a_row_like_setvar(admin_client):
    from django.urls import reverse

    url = reverse("admin:bot_runtimesetting_add")
    refused = admin_client.post(url, {"session_name": "kit", "name": "USER_COMMANDS_BURST", "value": "0"})
    assert refused.status_code == 200 and "from 1 to 100" in refused.content.decode()
    secret = admin_client.post(url, {"session_name": "kit", "name": "SECRET_KEY", "value": "x"})
    assert "is a secret" in secret.content.decode()
    saved = admin_client.post(url, {"session_name": "kit", "name": "prefix", "value": "!"})
    assert saved.status_code == 302
    assert RuntimeSetting.objects.get().name == "BOT_PREFIX"


def test_a_prefix_set_before_runtime_settings_is_moved_by_the_migration(settings):
    import importlib

    from django.apps import apps

    from bot.models import BotSetting

    migration = importlib.import_module("bot.migrations.0010_runtime_settings")
    BotSetting.objects.create(session_name="kit", key="prefix", value="!")
    BotSetting.objects.create(session_name="kit", key="maintenance", value=False)
    migration.prefix_rows_move(apps, None)
    assert list(BotSetting.objects.values_list("key", flat=True)) == ["maintenance"]
    assert make_bot(settings).run_text("!ping", sender=ALICE).startswith("pong")


def test_an_owner_added_from_the_chat_gets_the_childs_alerts_too(bot, settings):
    from bot.child.listening import Listening

    bot.run_text(".setvar OWNER_NUMBERS=15550000001,15550000003", sender=OWNER)
    queued = []

    class Child(Listening):
        session_name = "kit"

        def _queue_replies(self, replies, *, answers):
            queued.extend(replies)

    Child()._tell_owners("WhatsApp stopped answering.")
    assert [r.chat for r in queued] == ["15550000001@s.whatsapp.net", "15550000003@s.whatsapp.net"]
