"""Installable command packs: found through their entry point, listed, run, and kept apart when they fail."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest
from django.core.exceptions import ImproperlyConfigured

from blacksky_site import config
from bot.dispatch.packs import PackGuard, packs_discover, packs_installed
from bot.dispatch.registry import registry
from bot.models import CommandPackChat
from tests.bot.dispatch_kit import ALICE, GROUP, OWNER, group_info, make_bot, only_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A folder on sys.path where a test writes pack modules (what ``BOT_PLUGINS`` names)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(name: str, source: str) -> str:
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture(autouse=True)
def packs_as_installed():
    """The project registry loads the packs again per test (settings differ); as installed afterwards."""
    yield
    registry.packs_reset()
    registry.packs_add(*packs_installed())


def project_bot(settings, *, plugins: tuple[str, ...] = (), max_failures: int = 5, per_minute: int = 600):
    """A bot over the project registry with its packs loaded again under these settings (a restart)."""
    settings.BOT_PLUGINS = list(plugins)
    settings.BOT_PLUGINS_DISABLED = []
    settings.PACK_MAX_FAILURES = max_failures
    settings.PACK_RATE_PER_MINUTE = per_minute
    registry.discover()
    registry.packs_reset()
    registry.packs_add(*packs_installed())
    return make_bot(settings, registry=registry)


BOOM = """
    from bot.dispatch.registry import command

    PACK_NEEDS = ("send",)

    @command("boom", category="tools", help="Always fails.")
    def boom(ctx):
        raise RuntimeError("the pack's own bug")

    @command("fine", category="tools", help="Always works.")
    def fine(ctx):
        return ctx.reply("fine")
"""


def test_the_example_pack_is_found_through_its_entry_point_listed_and_imported_on_first_use(settings) -> None:
    sys.modules.pop("blacksky_pack_units.commands", None)
    bot = project_bot(settings)
    spec = bot.router.registry.lookup("convert")
    assert spec is not None and spec.module == "blacksky_pack_units.commands"
    assert "blacksky_pack_units.commands" not in sys.modules  # the menu knows it without importing it
    assert "convert" in only_text(bot.say(".menu"))
    assert only_text(bot.say(".convert 10 km mi")) == "10 km = 6.21371 mi"
    assert "blacksky_pack_units.commands" in sys.modules
    listing = only_text(bot.say(".packs"))
    assert "units 1.0.0 (needs: send): conv, convert" in listing or "units 1.0.0 (needs: send): convert" in listing


def test_a_failing_pack_is_counted_then_turned_off_with_one_notice_to_the_owners(settings, plugin_dir) -> None:
    bot = project_bot(settings, plugins=(plugin_dir("boom_pack", BOOM),), max_failures=3)
    for attempt in range(1, 4):
        result = bot.say(".boom")
        assert result.error
        notices = [r for r in result.replies if r.chat == OWNER]
        assert len(notices) == (1 if attempt == 3 else 0)
    assert "failed 3 times in a row" in notices[0].text and "RuntimeError" in notices[0].text
    assert bot.router.stats.counts_total()["pack_error:boom_pack"] == 3
    assert "turned off after repeated errors" in only_text(bot.say(".boom"))  # not called again
    assert bot.router.stats.counts_total()["pack_error:boom_pack"] == 3
    assert "[off: repeated errors]" in only_text(bot.say(".packs"))
    assert only_text(bot.say(".ping")).lower().startswith("pong")  # the rest of the bot goes on


def test_a_success_resets_the_failures_in_a_row(settings, plugin_dir) -> None:
    source = BOOM.replace('raise RuntimeError("the pack\'s own bug")', 'if ctx.args:\n            raise RuntimeError("x")')
    bot = project_bot(settings, plugins=(plugin_dir("flaky_pack", source),), max_failures=2)
    for _round in range(3):
        assert bot.say(".boom x").error
        assert not bot.say(".boom").error
    assert not bot.router.registry.pack_guard.is_off("flaky_pack")


def test_a_group_turns_a_pack_off_and_it_stays_off_after_a_restart(settings) -> None:
    bot = project_bot(settings)
    bot.add_group(group_info(admins=(ALICE,)))
    assert "is off in this group" in only_text(bot.say(".pack off units", chat=GROUP))
    assert bot.say(".convert 1 m cm", chat=GROUP).replies == []
    assert CommandPackChat.objects.get(chat=GROUP, pack="units").enabled is False
    assert "[off in this group]" in only_text(bot.say(".packs", chat=GROUP))
    assert only_text(bot.say(".convert 1 m cm")) == "1 m = 100 cm"  # only that group
    restarted = project_bot(settings)
    restarted.add_group(group_info(admins=(ALICE,)))
    assert restarted.say(".convert 1 m cm", chat=GROUP).replies == []
    assert "is on in this group" in only_text(restarted.say(".pack on units", chat=GROUP))
    assert only_text(restarted.say(".convert 1 m cm", chat=GROUP)) == "1 m = 100 cm"


def test_pack_switches_need_a_group_admin_and_a_known_pack(settings) -> None:
    bot = project_bot(settings)
    bot.add_group(group_info(admins=(ALICE,)))
    assert (
        not CommandPackChat.objects.exists()
        and bot.say(".pack off units", chat=GROUP, sender="15550000003@s.whatsapp.net").replies
    )
    assert not CommandPackChat.objects.exists()
    assert "No command pack is called nope" in only_text(bot.say(".pack off nope", chat=GROUP))
    assert "Usage" in only_text(bot.say(".pack sideways units", chat=GROUP))
    assert not CommandPackChat.objects.exists()


def test_each_pack_has_its_own_rate_budget_per_chat(settings, plugin_dir) -> None:
    bot = project_bot(settings, plugins=(plugin_dir("quick_pack", BOOM),), per_minute=8)  # a burst of 2
    answered = [bool(bot.say(".fine").replies) for _ in range(5)]
    assert answered == [True, True, False, False, False]
    assert bot.router.stats.counts_total()["pack_limited:quick_pack"] == 3
    assert only_text(bot.say(".convert 1 m cm")) == "1 m = 100 cm"  # another pack's budget is its own
    bot.clock.advance(30)
    assert bot.say(".fine").replies


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ('PACK_NEEDS = ("send", "root")\n', "unknown needs ['root']"),
        (
            'from bot.dispatch.registry import command\nPACK_NEEDS = ("send",)\n'
            '@command("zap", category="tools", help="x", bot_admin=True)\ndef zap(ctx): pass\n',
            "does not declare group_admin",
        ),
        (
            "from bot.dispatch.registry import command\nPACK_NEEDS = ()\n"
            '@command("ping", category="tools", help="x")\ndef ping(ctx): pass\n',
            ".ping is already a command of bot.commands.core",
        ),
        (
            "from bot.dispatch.registry import command\nfor n in ('a', 'b'):\n    command(n, category='x', help='y')\n",
            "must be literal",
        ),
    ],
)
def test_a_pack_that_overreaches_is_left_out_with_one_line_and_the_bot_starts(
    settings, plugin_dir, caplog, source: str, says: str
) -> None:
    name = plugin_dir(f"bad_pack_{abs(hash(says)) % 10_000}", source)
    with caplog.at_level(logging.WARNING, logger="bot.dispatch"):
        bot = project_bot(settings, plugins=(name,))
        assert only_text(bot.say(".ping")).lower().startswith("pong")
    refused = [r for r in caplog.records if r.getMessage() == "command pack refused"]
    assert len(refused) == 1 and says in refused[0].error
    assert name not in {p.name for p in bot.router.registry.packs}
    assert "convert" in only_text(bot.say(".menu"))  # the good pack still loads


def test_disabled_packs_and_our_own_modules_are_not_loaded_as_packs() -> None:
    assert [p.name for p in packs_discover(disabled=("units",))] == []
    assert [p.name for p in packs_discover(plugin_modules=("bot.commands.core",))] == ["units"]


@pytest.mark.parametrize("raw", ["bot.commands.core", "not a module", "x..y", ",".join(f"m{i}" for i in range(51))])
def test_a_bad_bot_plugins_value_is_one_sentence(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"^BOT_PLUGINS is set to .*, but it must be"):
        config.get("BOT_PLUGINS", {"BOT_PLUGINS": raw})


def test_the_guard_reads_a_groups_choice_again_after_a_few_seconds() -> None:
    reads: list[tuple[str, str]] = []
    now = [0.0]
    guard = PackGuard(chat_state=lambda s, c: reads.append((s, c)) or {"units"}, clock=lambda: now[0])
    assert guard.off_in_chat("kit", GROUP) == {"units"} and guard.off_in_chat("kit", GROUP) == {"units"}
    assert len(reads) == 1
    now[0] = 11.0
    guard.off_in_chat("kit", GROUP)
    assert len(reads) == 2
