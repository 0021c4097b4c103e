"""Router table tests: prefixes, aliases, quoting, targets, LID senders, own messages, redelivery,
unknown commands, crashing handlers, permissions, bans, maintenance, cooldowns and rate limits."""

from __future__ import annotations

import logging

import pytest

from bot.dispatch.registry import Registry
from bot.transport.base import GroupChange, Reply
from tests.bot.dispatch_kit import (
    ALICE,
    ALICE_LID,
    BOB,
    CAROL,
    GROUP,
    OWNER,
    OWNER_LID,
    group_info,
    make_bot,
    msg,
    only_text,
    texts,
)

pytestmark = pytest.mark.django_db


def kit_registry() -> Registry:
    reg = Registry()

    @reg.command("echo", aliases=("say", "repeat"), category="test", help="Echo args.")
    def echo(ctx):
        return ctx.reply("|".join(ctx.args) + f"#{ctx.arg_text}#" + ",".join(ctx.targets))

    @reg.command("boom", category="test", help="Always fails.")
    def boom(ctx):
        raise RuntimeError("kaboom")

    @reg.command("adminonly", category="test", help="Admins.", who="group_admin")
    def adminonly(ctx):
        return ctx.reply("admin ok")

    @reg.command("act", category="test", help="Bot must be admin.", who="group_admin", bot_admin=True)
    def act(ctx):
        return ctx.reply("acted")

    @reg.command("grouponly", category="test", help="Groups.", where="group")
    def grouponly(ctx):
        return ctx.reply("group ok")

    @reg.command("dm", category="test", help="Private.", where="private")
    def dm(ctx):
        return ctx.reply("dm ok")

    @reg.command("own", category="test", help="Owners.", who="owner")
    def own(ctx):
        return ctx.reply("owner ok")

    @reg.command("slow", category="test", help="Cooldown.", cooldown=10)
    def slow(ctx):
        return ctx.reply("slow ok")

    @reg.command("rename", category="test", help="Cooldown; needs a name.", usage="<name>", cooldown=10)
    def rename(ctx):
        if not ctx.args:
            return ctx.reply(ctx.usage())
        return ctx.reply(f"renamed to {ctx.arg_text}")

    @reg.command("fragile", category="test", help="Cooldown; crashes.", cooldown=10)
    def fragile(ctx):
        raise RuntimeError("boom")

    @reg.command("nothing", category="test", help="Returns None.")
    def nothing(ctx):
        return None

    @reg.command("many", category="test", help="Returns a list.")
    def many(ctx):
        return [ctx.reply("one"), ctx.react("👍")]

    return reg


@pytest.fixture
def bot(settings):
    return make_bot(settings, registry=kit_registry())


@pytest.mark.parametrize(
    ("prefix", "text", "command"),
    [
        (".", ".echo", "echo"),
        (".", ".ECHO", "echo"),
        (".", "   .echo", "echo"),
        (".", "!echo", None),
        (".!", "!echo", "echo"),
        (".!", ".echo", "echo"),
        (".", ". echo", None),
        (".", ".", None),
        (".", "echo", None),
        (".", "hello there", None),
        (".", ".say hi", "echo"),
        (".", ".Repeat hi", "echo"),
        ("#", "#echo", "echo"),
        ("#", ".echo", None),
    ],
)
def test_it_recognises_commands_by_prefix_and_alias(settings, prefix, text, command):
    bot = make_bot(settings, registry=kit_registry(), prefix=prefix)
    result = bot.say(text)
    assert result.command == command
    if command is None:
        assert result.replies == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('.echo "ice cream" cake', 'ice cream|cake#"ice cream" cake#'),
        (".echo   a    b  ", "a|b#a    b#"),
        ('.echo "unbalanced quote', '"unbalanced|quote#"unbalanced quote#'),
        (".echo", "##"),
        (".echo it's", "it's#it's#"),
    ],
)
def test_it_splits_arguments_shell_style_and_keeps_the_raw_text(bot, text, expected):
    assert only_text(bot.say(text)) == expected


def test_targets_are_the_mentions_first(bot):
    result = bot.say(".echo @b @c", mentions=(BOB, CAROL), quoted_sender=ALICE)
    assert only_text(result).endswith(f"{BOB},{CAROL}")


def test_targets_fall_back_to_the_quoted_sender(bot):
    assert only_text(bot.say(".echo", quoted_sender=CAROL)) == f"##{CAROL}"


def test_targets_are_empty_without_mentions_or_quote(bot):
    assert only_text(bot.say(".echo x")) == "x#x#"


def test_replies_quote_the_command_message(bot):
    message = msg(".echo hi")
    result = bot.handle(message)
    assert result.replies[0].reply_to == message.id
    assert result.replies[0].chat == message.chat


def test_a_handler_may_return_none_or_a_list(bot):
    assert bot.say(".nothing").replies == []
    assert [r.kind for r in bot.say(".many").replies] == ["text", "reaction"]


def test_plain_chat_without_the_prefix_gets_nothing(bot):
    result = bot.say("hello, how are you?")
    assert result.replies == [] and result.reason == "no_prefix"


def test_a_redelivered_message_is_handled_once(bot):
    message = msg(".echo once", msg_id="REDELIVERED1")
    assert bot.handle(message).command == "echo"
    again = bot.handle(message)
    assert again.replies == [] and again.reason == "duplicate"


def test_own_messages_are_ignored(bot):
    result = bot.say(".echo hi", sender="10000000001@s.whatsapp.net", from_me=True, chat=ALICE)
    assert result.replies == [] and result.reason == "own"


def test_the_owners_commands_from_the_linked_phone_run(settings):
    bot = make_bot(settings, registry=kit_registry(), owners=("10000000001",))
    result = bot.say(".own", sender="10000000001@s.whatsapp.net", from_me=True, chat=ALICE)
    assert only_text(result) == "owner ok"


def test_the_echo_of_a_message_we_sent_never_runs(settings):
    bot = make_bot(settings, registry=kit_registry(), owners=("10000000001",))
    sent = bot.router.outbound.send(Reply(kind="text", chat=ALICE, text=".own"))
    assert sent is not None
    echo = bot.say(".own", sender="10000000001@s.whatsapp.net", from_me=True, chat=ALICE, msg_id=sent.id)
    assert echo.replies == [] and echo.reason == "own"


def test_an_unknown_command_gets_one_hint_a_minute_per_user(bot):
    first = bot.say(".ecko")
    assert "Unknown command .ecko" in only_text(first)
    assert "Did you mean .echo?" in only_text(first)
    assert bot.say(".nope").replies == []
    assert len(bot.say(".nope", sender=BOB).replies) == 1  # another user gets their own hint
    bot.clock.advance(61)
    assert len(bot.say(".nope").replies) == 1


def test_a_crashing_handler_gets_an_apology_and_a_logged_trace(bot, caplog):
    with caplog.at_level(logging.ERROR, logger="bot.dispatch.router"):
        result = bot.say(".boom")
    assert result.error and result.command == "boom"
    assert "Sorry" in only_text(result)
    record = next(r for r in caplog.records if r.getMessage() == "command failed")
    assert record.exc_info and "kaboom" in str(record.exc_info[1])
    assert record.command == "boom"
    assert only_text(bot.say(".echo still alive")).startswith("still|alive")


def test_the_router_never_raises_even_when_the_handler_returns_garbage(settings):
    reg = Registry()

    @reg.command("bad", category="test", help="Returns a string.")
    def bad(ctx):
        return ["not a reply"]

    bot = make_bot(settings, registry=reg)
    result = bot.say(".bad")
    assert result.error and "Sorry" in only_text(result)


# -- owners and LID senders ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sender", "sender_alt", "owner"),
    [
        (OWNER, "", True),
        ("15550000001:12@s.whatsapp.net", "", True),  # a device suffix is still the owner's number
        (OWNER_LID, OWNER, True),  # LID sender, phone through SenderAlt
        (OWNER_LID, "", False),  # a LID alone proves nothing
        ("155500000011@s.whatsapp.net", "", False),  # exact digits only, no prefix matching
        ("5550000001@s.whatsapp.net", "", False),
        (ALICE, "", False),
    ],
)
def test_owners_are_matched_exactly_on_phone_digits(bot, sender, sender_alt, owner):
    result = bot.say(".own", sender=sender, sender_alt=sender_alt, chat=ALICE)
    assert (only_text(result) == "owner ok") is owner


def test_empty_owner_numbers_means_nobody_is_owner(settings):
    bot = make_bot(settings, registry=kit_registry(), owners=())
    for sender in (OWNER, ALICE, "10000000001@s.whatsapp.net"):
        assert only_text(bot.say(".own", sender=sender, chat=ALICE)) == "Only the bot owner can use this command."


# -- places and group permissions --------------------------------------------------------------------------
def test_group_and_private_only_commands_say_where_they_work(bot):
    bot.add_group(group_info())
    assert only_text(bot.say(".grouponly")) == "This command works in groups only."
    assert only_text(bot.say(".grouponly", chat=GROUP)) == "group ok"
    assert only_text(bot.say(".dm")) == "dm ok"
    assert "private chat" in only_text(bot.say(".dm", chat=GROUP))


@pytest.mark.parametrize(
    ("sender", "sender_alt", "admins", "expected"),
    [
        (ALICE, "", (ALICE,), "admin ok"),
        (BOB, "", (ALICE,), "Only group admins can use this command."),
        (OWNER, "", (), "admin ok"),  # owners pass admin checks
        (ALICE_LID, ALICE, (ALICE,), "admin ok"),  # LID sender matched through its phone
        (ALICE_LID, "", (ALICE_LID,), "admin ok"),  # LID-addressed group
        (ALICE_LID, "", (ALICE,), "Only group admins can use this command."),
    ],
)
def test_group_admin_commands_check_the_cached_admins(bot, sender, sender_alt, admins, expected):
    bot.add_group(group_info(admins=admins, members=(ALICE, BOB, ALICE_LID)))
    assert only_text(bot.say(".adminonly", chat=GROUP, sender=sender, sender_alt=sender_alt)) == expected


def test_acting_commands_need_the_bot_to_be_admin_and_say_so(bot):
    bot.add_group(group_info(admins=(ALICE,), bot_admin=False))
    assert "I need to be a group admin" in only_text(bot.say(".act", chat=GROUP))
    bot.add_group(group_info(admins=(ALICE,), bot_admin=True))
    assert only_text(bot.say(".act", chat=GROUP)) == "acted"


def test_admin_checks_never_cost_a_network_call_per_message(bot):
    bot.add_group(group_info(admins=(ALICE,)))
    for _ in range(20):
        bot.say(".adminonly", chat=GROUP)
    assert bot.transport.group_info_calls == 1
    bot.clock.advance(301)  # past GROUP_CACHE_TTL
    bot.say(".adminonly", chat=GROUP)
    assert bot.transport.group_info_calls == 2


def test_a_promotion_event_updates_the_cache_without_a_fetch(bot):
    bot.add_group(group_info(admins=(ALICE,)))
    assert only_text(bot.say(".adminonly", chat=GROUP, sender=BOB)).startswith("Only group admins")
    bot.change(GroupChange(chat=GROUP, promoted=(BOB,)))
    assert only_text(bot.say(".adminonly", chat=GROUP, sender=BOB)) == "admin ok"
    bot.change(GroupChange(chat=GROUP, demoted=(ALICE,)))
    assert only_text(bot.say(".adminonly", chat=GROUP, sender=ALICE)).startswith("Only group admins")
    assert bot.transport.group_info_calls == 1


def test_an_unreadable_group_is_refused_politely_and_not_refetched_per_message(bot):
    # no metadata for GROUP in the transport: group_info raises TransportError
    assert "couldn't read this group's details" in only_text(bot.say(".adminonly", chat=GROUP))
    bot.say(".adminonly", chat=GROUP)
    assert bot.transport.group_info_calls == 1


# -- bans and maintenance ----------------------------------------------------------------------------------
def test_banned_users_are_ignored_but_owners_never(bot):
    bot.router.state.ban("15550000002")
    assert bot.say(".echo hi", sender=ALICE).reason == "banned"
    assert bot.say(".echo hi", sender=ALICE_LID, sender_alt=ALICE).reason == "banned"
    bot.router.state.ban("15550000001")
    assert only_text(bot.say(".echo hi", sender=OWNER)).startswith("hi")


def test_bans_persist_across_a_restart(settings):
    first = make_bot(settings, registry=kit_registry())
    first.router.state.ban("15550000002", reason="spam")
    second = make_bot(settings, registry=kit_registry())
    assert second.say(".echo hi", sender=ALICE).reason == "banned"
    second.router.state.unban("15550000002")
    assert second.say(".echo hi", sender=ALICE).command == "echo"


def test_maintenance_lets_owners_through_and_tells_others_once(settings):
    bot = make_bot(settings, registry=kit_registry())
    bot.router.state.set_maintenance(True)
    first = bot.say(".echo hi", sender=ALICE)
    assert "maintenance" in only_text(first)
    assert bot.say(".echo hi", sender=ALICE).replies == []
    assert only_text(bot.say(".echo hi", sender=OWNER)).startswith("hi")
    restarted = make_bot(settings, registry=kit_registry())
    assert restarted.say(".echo hi", sender=BOB).reason == "maintenance"


# -- cooldowns and rate limits -----------------------------------------------------------------------------
def test_a_cooldown_gets_one_polite_notice_then_silence(bot):
    assert only_text(bot.say(".slow")) == "slow ok"
    notice = bot.say(".slow")
    assert notice.reason == "cooldown" and only_text(notice) == "Please wait 10s before using .slow again."
    assert bot.say(".slow").replies == []
    assert only_text(bot.say(".slow", sender=BOB)) == "slow ok"  # per user
    assert only_text(bot.say(".echo other")) == "other#other#"  # per command
    bot.clock.advance(10)
    assert only_text(bot.say(".slow")) == "slow ok"


def test_wrong_usage_or_a_crash_spends_no_cooldown_and_a_run_that_worked_does(bot):
    assert only_text(bot.say(".rename")) == "Usage: .rename <name>"
    assert only_text(bot.say(".rename Ada")) == "renamed to Ada", "the usage answer did no work"
    assert bot.say(".rename Bob").reason == "cooldown", "the run that renamed starts the cooldown"
    assert bot.say(".fragile").error
    assert bot.say(".fragile").error, "a crash did no work either: no 'please wait'"


def test_the_per_user_rate_limit_answers_once_and_recovers(settings):
    bot = make_bot(settings, registry=kit_registry(), user_per_minute=6)  # burst 5, then one per 10 s
    for _ in range(5):
        assert bot.say(".echo x").command == "echo"
    limited = bot.say(".echo x")
    assert limited.reason == "rate" and "too fast" in only_text(limited)
    assert bot.say(".echo x").replies == []
    assert bot.say(".echo x", sender=BOB).command == "echo"
    bot.clock.advance(10)
    assert bot.say(".echo x").command == "echo"


def test_owners_are_exempt_from_user_limits(settings):
    bot = make_bot(settings, registry=kit_registry(), user_per_minute=1)
    for _ in range(10):
        assert only_text(bot.say(".slow", sender=OWNER)) == "slow ok"


def test_refusals_are_not_counted_as_commands(bot):
    bot.say(".slow")
    bot.say(".slow")
    bot.say(".nope")
    assert bot.router.stats.totals.commands == 1
    assert texts(bot.say("plain")) == []


def test_a_lookup_during_discovery_waits_for_the_whole_table():
    """Two dispatcher threads: the second must not see a half-read registry (no false "unknown")."""
    import threading

    reading = threading.Event()
    release = threading.Event()

    class SlowRegistry(Registry):
        def _discover_module(self, module):
            super()._discover_module(module)
            if module.endswith(".core"):
                reading.set()
                release.wait(5)

    reg = SlowRegistry(package="bot.commands")
    found = {}
    first = threading.Thread(target=lambda: found.setdefault("a", reg.lookup("ping")))
    first.start()
    assert reading.wait(5)
    second = threading.Thread(target=lambda: found.setdefault("b", reg.lookup("tagall")))
    second.start()
    second.join(0.2)
    assert second.is_alive()  # waiting for the discovery, not answering "unknown"
    release.set()
    first.join(5)
    second.join(5)
    assert found["a"].name == "ping" and found["b"].name == "tagall"


def test_the_memory_guard_can_shed_the_group_cache_and_idle_command_modules(settings):
    project = make_bot(settings)  # the project registry, modules imported on use
    project.add_group(group_info(admins=(ALICE,)))
    assert project.say(".groupinfo", chat=GROUP).command == "groupinfo"
    shed = project.router.shedders(idle_seconds=600)
    assert shed["group_cache"]() == 1 and len(project.router.groups) == 0
    shed["command_modules"]()
    assert "bot.commands.group" in project.router.registry.loaded_modules()  # used just now: kept
    project.clock.advance(601)
    assert shed["command_modules"]() >= 1
    assert "bot.commands.group" not in project.router.registry.loaded_modules()
    assert project.say(".groupinfo", chat=GROUP).replies[0].text.startswith("*Kit Group*")  # back on demand
    assert project.transport.group_info_calls == 2


def test_each_command_run_is_one_log_line_without_the_message_text(bot, caplog):
    with caplog.at_level(logging.INFO, logger="bot.dispatch.router"):
        bot.say(".echo secret words", chat=ALICE)
    [record] = [r for r in caplog.records if r.getMessage() == "command"]
    assert (record.command, record.chat, record.replies) == ("echo", ALICE, 1)
    assert "secret" not in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        ".",
        ".\n",
        '."',
        ".echo \\",
        '.echo "a\\"b',
        ".echo " + "x" * 20_000,
        "\u200b.echo",
        ".🙂",
        ".echo\x00nul",
    ],
)
def test_odd_input_never_breaks_the_router(bot, text):
    result = bot.say(text)
    assert result.reason != "router_error" and not result.error
    assert len(result.replies) <= 1
