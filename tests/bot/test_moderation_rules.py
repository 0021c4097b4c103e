"""Each moderation rule as a table of cases (pure functions: no database, no transport), and the one
decision every rule shares."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from bot.dispatch.rules.actions import Decision, decide
from bot.dispatch.rules.antibot import bot_fingerprint
from bot.dispatch.rules.antifake import calling_code_hit
from bot.dispatch.rules.antilink import link_domain, link_hit
from bot.dispatch.rules.antimention import mass_mention_hit
from bot.dispatch.rules.antispam import LEVELS, FloodLimits, FloodState, FloodTracker, flood_step
from bot.dispatch.rules.badword import badword_hit
from bot.moderation_settings import fold


# -- antilink --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "allow", "hit"),
    [
        ("no links here", frozenset(), ""),
        ("see https://example.com/x", frozenset(), "https://example.com/x"),
        ("see https://youtube.com/watch?v=1", frozenset({"youtube.com"}), ""),
        ("see https://m.youtube.com/watch", frozenset({"youtube.com"}), ""),  # a subdomain of an allowed one
        ("see https://notyoutube.com/watch", frozenset({"youtube.com"}), "https://notyoutube.com/watch"),
        ("www.YouTube.com and spam.xyz", frozenset({"youtube.com"}), "spam.xyz"),  # the second link is not allowed
        ("join chat.whatsapp.com/AbC", frozenset({"youtube.com"}), "chat.whatsapp.com/AbC"),
        ("join chat.whatsapp.com/AbC", frozenset({"whatsapp.com"}), ""),
        ("wa.me/15551234567", frozenset(), "wa.me/15551234567"),
        (
            "https://youtube.com.evil.io/x",
            frozenset({"youtube.com"}),
            "https://youtube.com.evil.io/x",
        ),  # not its subdomain
        ("youtube.com.evil.io/x", frozenset({"youtube.com"}), "evil.io"),
    ],
)
def test_antilink(text, allow, hit):
    assert link_hit(text, allow) == hit


@pytest.mark.parametrize(
    ("link", "domain"),
    [("https://M.YouTube.com/watch?v=1", "m.youtube.com"), ("www.x.com:443/a", "x.com"), ("wa.me/1", "wa.me")],
)
def test_link_domain(link, domain):
    assert link_domain(link) == domain


# -- antispam --------------------------------------------------------------------------------------------------
HIGH = LEVELS["high"]  # 5 messages in 10 s, 3 identical


def run_flood(steps: list[tuple[float, str]], limits: FloodLimits = HIGH) -> list[str]:
    state: FloodState | None = None
    verdicts = []
    for now, text in steps:
        state, verdict = flood_step(state, now=now, text=text, limits=limits)
        verdicts.append(verdict)
    return verdicts


@pytest.mark.parametrize(
    ("steps", "verdicts"),
    [
        # four quick different messages: fine; the fifth within 10 s is a burst, the next ones go on it
        ([(t, f"m{t}") for t in (0, 1, 2, 3)], ["", "", "", ""]),
        ([(t, f"m{t}") for t in (0, 1, 2, 3, 4, 5)], ["", "", "", "", "burst", "ongoing"]),
        # five messages spread over more than 10 s: no flood
        ([(t, f"m{t}") for t in (0, 3, 6, 9, 12)], ["", "", "", "", ""]),
        # the same text three times in a row (case and spaces aside): a repeat
        ([(0, "buy now"), (20, "BUY  now"), (40, "buy now")], ["", "", "repeat"]),
        # identical messages further apart than a minute do not add up
        ([(0, "hi"), (70, "hi"), (140, "hi")], ["", "", ""]),
        # another text in between starts the count again
        ([(0, "a"), (20, "a"), (30, "b"), (40, "a")], ["", "", "", ""]),
        # a streak ends after 10 quiet seconds; the count starts afresh
        ([(t, "x") for t in (0, 1, 2)] + [(30, "y"), (31, "z")], ["", "", "repeat", "", ""]),
        ([(t, "x") for t in (0, 1, 2)] + [(5, "y"), (14, "z")], ["", "", "repeat", "ongoing", "ongoing"]),
        # empty texts (media) never count as repeats of each other here; the caller names their kind
        ([(0, ""), (20, ""), (40, "")], ["", "", ""]),
    ],
)
def test_antispam_flood_step(steps, verdicts):
    assert run_flood(steps) == verdicts


def test_antispam_levels_are_ordered():
    low, medium, high = LEVELS["low"], LEVELS["medium"], LEVELS["high"]
    assert low.messages > medium.messages > high.messages and low.repeats > medium.repeats > high.repeats


def test_a_flood_of_1000_messages_in_a_second_costs_bounded_time_and_memory():
    tracker = FloodTracker(max_members=100)
    tracemalloc.start()
    started = time.perf_counter()
    verdicts = [tracker.step("g", "m", now=i / 1000, text=f"spam {i}", limits=HIGH) for i in range(1000)]
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert verdicts[4] == "burst" and set(verdicts[5:]) == {"ongoing"}
    assert len(tracker) == 1 and elapsed < 0.5 and peak < 256 * 1024
    for n in range(500):  # many members: the least recent are dropped, never more than max_members kept
        tracker.step("g", f"member{n}", now=2.0, text="hi", limits=HIGH)
    assert len(tracker) == 100


# -- antibadword -----------------------------------------------------------------------------------------------
WORDS = frozenset({fold(w) for w in ("idiot", "café", "s-word", "ass")})


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("you are an idiot", "idiot"),
        ("You are an IDIOT!", "idiot"),
        ("ｉｄｉｏｔ", "idiot"),  # full-width letters (NFKD)
        ("meet at the CAFE", "cafe"),  # accents ignored both ways
        ("meet at the cafè", "cafe"),
        ("idiots and idiotic", ""),  # whole words only
        ("the s-word", "s-word"),
        ("i-d-i-o-t", "idiot"),  # spelled out with hyphens
        ("don't be an idiot's friend", "idiot"),
        ("a classic class", ""),
        ("", ""),
    ],
)
def test_antibadword(text, hit):
    assert badword_hit(text, WORDS) == hit


def test_antibadword_is_linear_in_a_long_message():
    text = "word " * 13_000  # WhatsApp's 65,536 characters
    started = time.perf_counter()
    assert badword_hit(text + "idiot", WORDS) == "idiot"
    assert time.perf_counter() - started < 0.5


# -- antifake --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("phone", "allow", "block", "hit"),
    [
        ("2348012345678", frozenset(), frozenset({"234"}), "+234 is blocked"),
        ("2348012345678", frozenset({"234"}), frozenset(), ""),
        ("4915112345678", frozenset({"234", "44"}), frozenset(), "country code not allowed"),
        ("447700900123", frozenset({"234", "44"}), frozenset(), ""),
        ("15551234567", frozenset(), frozenset({"91"}), ""),
        ("15551234567", frozenset({"1"}), frozenset({"1"}), "+1 is blocked"),  # block wins
        ("", frozenset({"1"}), frozenset(), ""),  # a LID member with no known number: nothing to judge
    ],
)
def test_antifake(phone, allow, block, hit):
    assert calling_code_hit(phone, allow=allow, block=block) == hit


# -- antibot ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("message_id", "bot"),
    [
        ("BAE5F3C2A1B04D11", "Baileys (BAE5, 16 characters)"),
        ("3EB0A1B2C3D4", "Baileys fork (3EB0, 12 characters)"),
        ("3EB0A1B2C3D4E5F60718293A", ""),  # 3EB0 + 20: not a fingerprint we flag
        ("3EB0A1B2C3D4E5F6071829", ""),  # WhatsApp Web's (and whatsmeow's) own shape, 22 characters
        ("3A1B2C3D4E5F60718293", ""),  # an iPhone
        ("ABCDEF0123456789ABCDEF0123456789", ""),  # an Android phone
        ("BAE5XYZ", ""),
        ("BAE5ZZZZZZZZZZZZ", ""),  # not hex
        ("", ""),
    ],
)
def test_antibot(message_id, bot):
    assert bot_fingerprint(message_id) == bot


# -- antimention -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mentions", "threshold", "hit"),
    [
        ((), 5, 0),
        (tuple(f"1555000{n:04d}@s.whatsapp.net" for n in range(4)), 5, 0),
        (tuple(f"1555000{n:04d}@s.whatsapp.net" for n in range(5)), 5, 5),
        (("15550000001@s.whatsapp.net",) * 20, 5, 0),  # the same member twenty times is one
        (("15550000001@s.whatsapp.net", "15550000001:3@s.whatsapp.net", "9000@lid"), 2, 2),
    ],
)
def test_antimention(mentions, threshold, hit):
    assert mass_mention_hit(mentions, threshold=threshold) == hit


# -- the decision ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("action", "on_message", "ongoing", "exempt", "bot_admin", "told", "decision"),
    [
        ("warn", True, False, True, True, False, Decision(reason="exempt")),
        ("kick", True, False, False, False, False, Decision(notice=True, reason="bot_not_admin")),
        ("kick", True, False, False, False, True, Decision(reason="bot_not_admin")),
        ("none", True, False, False, False, False, Decision(log=True, reason="watch")),
        ("none", True, True, False, True, False, Decision(log=True, reason="ongoing")),
        ("delete", True, False, False, True, False, Decision(delete=True, log=True, reason="delete")),
        ("warn", True, False, False, True, False, Decision(delete=True, warn=True, log=True, reason="warn")),
        ("kick", True, False, False, True, False, Decision(delete=True, kick=True, log=True, reason="kick")),
        ("warn", True, True, False, True, False, Decision(delete=True, log=True, reason="ongoing")),
        ("kick", False, False, False, True, False, Decision(kick=True, log=True, reason="kick")),  # a join
        ("warn", False, False, False, True, False, Decision(warn=True, log=True, reason="warn")),
    ],
)
def test_decide(action, on_message, ongoing, exempt, bot_admin, told, decision):
    got = decide(action=action, on_message=on_message, ongoing=ongoing, exempt=exempt, bot_admin=bot_admin, told=told)
    assert got == decision
