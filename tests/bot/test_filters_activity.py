"""Keyword filters and member activity: matching, cooldowns, storage, .top and .inactive with a confirmed kick."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import pytest
from django.utils import timezone

from bot.commands.activity import days_parse
from bot.dispatch.filters import MAX_PER_CHAT, FilterRefused, keyword_normalize, words
from bot.models import KeywordFilter, MemberActivity
from bot.retention import activity_prune
from tests.bot.dispatch_kit import ALICE, BOB, CAROL, GROUP, OWNER, group_info, make_bot, only_text, texts
from tests.bot.fixtures.neonize_events import make_msg_ev
from tests.bot.test_router_neonize import GROUP as NEO_GROUP  # the real neonize wiring and its LID group
from tests.bot.test_router_neonize import GROUP_STR, MEMBER, MEMBER_LID, fake, texts_sent, wired  # noqa: F401, F811

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(settings):
    kit = make_bot(settings)
    kit.add_group(group_info(admins=(ALICE,)))
    return kit


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Hello, WORLD!", ["hello", "world"]),
        ("Café crème", ["cafe", "creme"]),
        ("this thing", ["this", "thing"]),
        ("ｆｕｌｌ width", ["full", "width"]),
        ("a-b_c", ["a", "b", "c"]),
    ],
)
def test_words_are_case_and_accent_folded(text: str, found: list[str]) -> None:
    assert words(text) == found


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("Hi", "hi"), ("  Good   MORNING ", "good morning"), ("(aa+)+$", "aa"), ("Crème Brûlée", "creme brulee")],
)
def test_keywords_are_stored_as_plain_words(raw: str, stored: str) -> None:
    assert keyword_normalize(raw) == stored  # a regular expression is just its letters: nothing can backtrack


@pytest.mark.parametrize("raw", ["a", "!", "", "(a+)+$", "x" * 65, "one two three four five six"])
def test_a_keyword_too_short_or_too_long_is_refused(raw: str) -> None:
    with pytest.raises(FilterRefused):
        keyword_normalize(raw)


def test_a_group_admin_adds_a_filter_and_it_answers_whole_words_only(bot) -> None:
    assert "Filter saved: hi" in only_text(bot.say(".filter add Hi Hello there!", chat=GROUP))
    assert texts(bot.say("well, HI everyone", chat=GROUP, sender=BOB)) == ["Hello there!"]
    bot.clock.advance(120)
    assert texts(bot.say("this is high", chat=GROUP, sender=BOB)) == []  # 'this' and 'high' are not 'hi'
    assert texts(bot.say("hi", chat=GROUP, sender=OWNER, from_me=True)) == []  # never our own messages


def test_a_phrase_in_quotes_and_accents_match(bot) -> None:
    only_text(bot.say('.filter add "good morning" Morning! ☀️', chat=GROUP))
    assert texts(bot.say("Good   Mórning all", chat=GROUP, sender=BOB)) == ["Morning! ☀️"]


def test_cooldowns_keep_a_filter_from_flooding(bot) -> None:
    only_text(bot.say(".filter add hi Hello", chat=GROUP))
    only_text(bot.say(".filter add bye Goodbye", chat=GROUP))
    assert texts(bot.say("hi", chat=GROUP, sender=BOB)) == ["Hello"]
    assert texts(bot.say("bye", chat=GROUP, sender=BOB)) == []  # the chat's own cooldown (5 s)
    bot.clock.advance(6)
    assert texts(bot.say("bye", chat=GROUP, sender=BOB)) == ["Goodbye"]
    bot.clock.advance(6)
    assert texts(bot.say("hi", chat=GROUP, sender=BOB)) == []  # the keyword's cooldown (60 s)
    bot.clock.advance(60)
    assert texts(bot.say("hi", chat=GROUP, sender=BOB)) == ["Hello"]


def test_a_flood_of_a_thousand_messages_gets_one_answer_in_bounded_memory(bot) -> None:
    only_text(bot.say(".filter add spam Please stop", chat=GROUP))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    answered = sum(len(texts(bot.say("spam " * 200, chat=GROUP, sender=BOB))) for _ in range(1000))
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert answered == 1
    assert grown < 2_000_000  # the router keeps seen ids, not the texts


def test_only_admins_change_filters_and_nothing_half_is_stored(bot) -> None:
    assert "Only group admins" in only_text(bot.say(".filter add hi Hello", chat=GROUP, sender=BOB))
    assert "Only group admins" in only_text(bot.say(".filter list", chat=GROUP, sender=BOB))
    assert "at most 1000 characters" in only_text(bot.say(".filter add hi " + "x" * 1001, chat=GROUP))
    assert "at least 2 letters" in only_text(bot.say(".filter add ! Hello", chat=GROUP))
    assert "needs a reply text" in only_text(bot.say(".filter add hi", chat=GROUP))
    assert not KeywordFilter.objects.exists()
    assert "No filters in this chat" in only_text(bot.say(".filter list", chat=GROUP))


def test_a_chat_holds_at_most_fifty_filters(bot) -> None:
    for i in range(MAX_PER_CHAT):
        KeywordFilter.objects.create(session_name="kit", chat=GROUP, keyword=f"word{i}", reply="r")
    assert "already has 50 filters" in only_text(bot.say(".filter add another Hello", chat=GROUP))
    assert "Filter saved: word1" in only_text(bot.say(".filter add word1 Replaced", chat=GROUP))  # a replace is fine


def test_global_filters_answer_everywhere_and_a_chats_own_wins(bot) -> None:
    assert "every chat" in only_text(bot.say(".gfilter add rules Read the rules.", sender=OWNER))
    assert texts(bot.say("the rules?", sender=BOB)) == ["Read the rules."]
    only_text(bot.say(".filter add rules Group rules: be kind.", chat=GROUP))
    assert texts(bot.say("rules", chat=GROUP, sender=CAROL)) == ["Group rules: be kind."]
    assert "Filter deleted: rules" in only_text(bot.say(".filter del rules", chat=GROUP))
    bot.clock.advance(61)
    assert texts(bot.say("rules", chat=GROUP, sender=CAROL)) == ["Read the rules."]


def test_filters_survive_a_restart(settings, bot) -> None:
    only_text(bot.say(".filter add hi Hello", chat=GROUP))
    restarted = make_bot(settings)
    assert texts(restarted.say("hi", chat=GROUP, sender=BOB)) == ["Hello"]
    restarted.add_group(group_info(admins=(ALICE,)))
    assert "hi -> Hello" in only_text(restarted.say(".filter list", chat=GROUP))


# -- activity -----------------------------------------------------------------------------------------------
def test_group_messages_are_counted_per_member_and_top_ranks_them(bot) -> None:
    for sender, n in ((ALICE, 3), (BOB, 1)):
        for _ in range(n):
            bot.say("hello", chat=GROUP, sender=sender)
    bot.say("hello", sender=CAROL)  # a private chat is not a group's activity
    bot.say("hi", chat=GROUP, sender=OWNER, from_me=True)
    result = bot.say(".top", chat=GROUP, sender=BOB)
    text = only_text(result)
    assert "1. @15550000002: 3" in text and "2. @15550000003: 2" in text  # BOB's .top counts too
    assert MemberActivity.objects.filter(chat=GROUP).count() == 2
    assert set(result.replies[0].mentions) == {ALICE, BOB}


def test_inactive_lists_the_silent_and_kicks_them_only_after_a_confirmation(bot) -> None:
    bot.say("hello", chat=GROUP, sender=BOB)
    listing = only_text(bot.say(".inactive 30d", chat=GROUP))
    assert "@15550000004" in listing and "@15550000003" not in listing and "Counting began" in listing
    assert "send .inactive 30d kick confirm" in only_text(bot.say(".inactive 30d kick", chat=GROUP))
    assert not [r for r in bot.results[-1].replies if r.kind == "group"]
    result = bot.say(".inactive 30d kick confirm", chat=GROUP)
    [action] = [r for r in result.replies if r.kind == "group"]
    assert action.action == "remove" and action.targets == (CAROL,)  # not ALICE: she is an admin (and wrote)
    assert "Nothing to confirm" in only_text(bot.say(".inactive 30d kick confirm", chat=GROUP))


def test_inactive_kick_needs_the_bot_to_be_admin_and_a_group_admin_to_ask(settings) -> None:
    kit = make_bot(settings)
    kit.add_group(group_info(admins=(ALICE,), bot_admin=False))
    assert "I need to be a group admin" in only_text(kit.say(".inactive 7d kick", chat=GROUP))
    assert not texts(kit.say(".inactive 7d", chat=GROUP, sender=BOB)) or "admin" in only_text(kit.results[-1])


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("30d", 30),
        ("2w", 14),
        ("7", 7),
        ("90d", 90),
        ("0", None),
        ("91d", None),
        ("999999", None),
        ("x", None),
        ("", None),
    ],
)
def test_days_are_one_to_ninety(text: str, days: int | None) -> None:
    assert days_parse(text) == days


def test_old_day_counts_are_pruned_by_retention() -> None:
    today = timezone.localdate()
    for age in (5, 130):
        MemberActivity.objects.create(session_name="kit", chat=GROUP, member=ALICE, day=today - timedelta(days=age))
    assert activity_prune(today=today) == {"member_activity": 1}
    assert MemberActivity.objects.get().day == today - timedelta(days=5)


# -- from real neonize events -------------------------------------------------------------------------------
def test_a_real_group_message_is_answered_by_a_filter_and_counted_by_phone(wired, fake) -> None:  # noqa: F811
    KeywordFilter.objects.create(session_name="events", chat=GROUP_STR, keyword="hello", reply="Hi there!")
    wired.deliver(make_msg_ev("Hello, folks", chat=NEO_GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id="3EB0F1"))
    [text] = texts_sent(fake)
    assert text.text == "Hi there!"
    wired.router.activity.flush()
    row = MemberActivity.objects.get()
    assert (row.chat, row.member, row.messages) == (GROUP_STR, "15551230002@s.whatsapp.net", 1)
