"""Core commands through router, handler and outbound into the in-memory transport; the registry's
lazy loading checked in a fresh interpreter."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from bot.commands.core import format_duration
from bot.dispatch.registry import read_declarations, registry
from bot.models import MessageStat
from tests.bot.dispatch_kit import OWNER, ROOT_DIR, make_bot

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(settings):
    return make_bot(settings)


def test_ping_answers_pong_with_the_latency(bot):
    reply = bot.run_text(".ping")
    assert reply.startswith("pong (") and reply.endswith(" ms)")


def test_menu_lists_every_category_from_metadata(bot):
    menu = bot.run_text(".menu")
    for heading in ("*Core*", "*Group*", "*Fun*"):
        assert heading in menu
    for name in (".ping", ".tagall", ".8ball", ".choose", ".warn"):
        assert name in menu
    assert "*Owner*" not in menu and ".broadcast" not in menu


def test_the_owner_sees_the_owner_commands_in_the_menu(bot):
    menu = bot.run_text(".menu", sender=OWNER)
    assert "*Owner*" in menu and ".broadcast" in menu and ".setprefix" in menu


def test_help_explains_one_command(bot):
    text = bot.run_text(".help kick")
    assert text.splitlines()[0] == "*.kick* - Remove members from the group."
    assert "Usage: .kick @member" in text
    assert "Aliases: .remove" in text
    assert "Who: group admins - Where: groups" in text
    assert "The bot must be a group admin." in text


def test_help_finds_commands_by_alias_and_lists_a_category(bot):
    assert bot.run_text(".help coin").startswith("*.flip*")
    fun = bot.run_text(".help fun")
    assert fun.startswith("*Fun*") and ".roll - Roll dice" in fun
    assert "No command or category" in bot.run_text(".help nonsense")


def test_help_without_arguments_is_the_menu(bot):
    assert "*Core*" in bot.run_text(".help")


def test_uptime_counts_from_the_router_start(bot):
    bot.clock.advance(3725)
    assert bot.run_text(".uptime") == "Up for 1h 2m 5s."


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3600, "1h 0m 0s"), (90061, "1d 1h 1m 1s")]
)
def test_durations_read_naturally(seconds, shown):
    assert format_duration(seconds) == shown


def test_alive_names_the_bot_and_its_prefix(bot, settings):
    text = bot.run_text(".alive")
    assert f"*{settings.BOT_NAME}* is alive" in text and "Prefix: ." in text


def test_stats_adds_live_counters_and_saved_minutes(bot):
    MessageStat.objects.create(
        session_name="kit", bucket=timezone.now() - timedelta(minutes=5), messages_in=40, commands=12, errors=1
    )
    MessageStat.objects.create(session_name="other", bucket=timezone.now(), messages_in=999)
    bot.run(".ping")
    bot.run("just chatting")
    text = bot.run_text(".stats")
    assert "3 messages, 1 commands, 0 errors, 1 sent" in text  # live: this message counted, its command not yet
    assert "Last 24h (saved): 40 messages, 12 commands, 1 errors." in text


def test_runtime_reports_versions_and_memory(bot):
    text = bot.run_text(".runtime")
    assert "Python 3." in text and "Django 5." in text and "neonize" in text
    assert "Memory: " in text and "MiB" in text
    assert "Command modules loaded:" in text


def test_every_project_command_has_readable_metadata():
    """Each command module's decorators are literal, so the menu never needs to import it."""
    from pathlib import Path

    import bot.commands

    for path in sorted(Path(bot.commands.__path__[0]).glob("[!_]*.py")):
        declared = read_declarations(path.read_text(), module=f"bot.commands.{path.stem}")
        assert declared is not None, f"{path.name} declares commands dynamically"
    names = {spec.name for spec in registry.specs()}
    assert {"menu", "help", "ping", "uptime", "alive", "stats", "runtime"} <= names
    assert {"tagall", "kick", "add", "promote", "demote", "groupinfo", "link", "revoke", "mute", "unmute"} <= names
    assert {"setname", "setdesc", "welcome", "antilink", "warn", "warnings", "resetwarn"} <= names
    assert {"backup", "restart", "broadcast", "ban", "unban", "banlist", "maintenance", "setprefix", "status"} <= names
    assert {"8ball", "roll", "flip", "rps", "choose", "fact", "quote"} <= names


def test_metadata_read_from_source_matches_the_decorators_at_import():
    import importlib

    for spec in registry.specs():
        if not spec.module.startswith("bot.commands."):
            continue
        importlib.import_module(spec.module)
        handler = registry.handler(spec.name)
        assert handler.__module__ == spec.module
        assert registry.lookup(spec.name) == spec


LAZY_PROBE = """
import json, sys, django
django.setup()
from bot.dispatch import registry
before = sorted(m for m in sys.modules if m.startswith("bot.commands."))
menu = [s.name for s in registry.specs()]
after_menu = sorted(m for m in sys.modules if m.startswith("bot.commands."))
registry.handler("ping")
after_ping = sorted(m for m in sys.modules if m.startswith("bot.commands."))
dropped = registry.unload_idle(idle_seconds=0)
after_unload = sorted(m for m in sys.modules if m.startswith("bot.commands."))
registry.handler("ping")
print(json.dumps({"before": before, "menu": len(menu), "after_menu": after_menu, "after_ping": after_ping,
                  "dropped": dropped, "after_unload": after_unload,
                  "reloaded": sorted(m for m in sys.modules if m.startswith("bot.commands."))}))
"""


@pytest.mark.slow
def test_command_modules_load_on_first_use_and_can_be_shed(subprocess_env):
    done = subprocess.run(
        [sys.executable, "-c", LAZY_PROBE], env=subprocess_env, cwd=ROOT_DIR, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == [] and seen["after_menu"] == []  # the menu needs no handler
    assert seen["menu"] >= 35
    assert seen["after_ping"] == ["bot.commands.core"]
    assert seen["dropped"] == ["bot.commands.core"] and seen["after_unload"] == []
    assert seen["reloaded"] == ["bot.commands.core"]


def test_with_the_root_logger_at_debug_a_command_s_first_use_answers(bot, caplog):
    # LOG_LEVEL=DEBUG once made every first use answer "Sorry": the load's debug line passed a
    # reserved LogRecord name as an extra (tests/site/test_log_extras.py checks every call).
    registry.unload_idle(idle_seconds=0)
    with caplog.at_level(logging.DEBUG):
        reply = bot.run_text(".ping")
    assert reply.startswith("pong ("), reply
    [loaded] = [r for r in caplog.records if r.getMessage() == "command module loaded"]
    assert loaded.command_module == "bot.commands.core" and loaded.ms >= 0
