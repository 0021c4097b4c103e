"""Argument splitting and antilink are linear and mean what they meant; a message is read up to WhatsApp's limit."""

from __future__ import annotations

import re
import shlex
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.dispatch.parsing import MAX_TEXT_CHARS, find_link, parse_command, split_args
from tests.bot.dispatch_kit import make_bot


def shlex_or_words(text: str) -> tuple[str, ...]:
    try:
        return tuple(shlex.split(text, posix=True))
    except ValueError:
        return tuple(text.split())


@given(text=st.text(alphabet=st.sampled_from(list("ab \t\n\"'\\\\é")), max_size=40))
@settings(max_examples=1500)
def test_the_split_means_what_shlex_means(text: str) -> None:
    assert split_args(text) == shlex_or_words(text)


def _seconds(text: str) -> float:
    started = time.perf_counter()
    split_args(text)
    return time.perf_counter() - started


def test_a_megabyte_word_splits_in_linear_time() -> None:
    small = min(_seconds("x" * 100_000) for _ in range(3))
    large = min(_seconds("x" * 1_000_000) for _ in range(3))
    assert large < 2.0  # shlex: 16-19 s on this machine
    assert large < small * 40 + 0.05  # 10x the text: about 10x the time (quadratic would be 100x)


def test_a_command_reads_at_most_whatsapp_s_limit() -> None:
    parsed = parse_command(".echo " + "y" * (3 * MAX_TEXT_CHARS), ".")
    assert parsed is not None and parsed.word == "echo"
    assert len(parsed.arg_text) == MAX_TEXT_CHARS - len(".echo ")


@pytest.mark.django_db
def test_menu_with_a_megabyte_word_answers_at_once(settings) -> None:
    bot = make_bot(settings)
    started = time.perf_counter()
    reply = bot.run_text(".menu " + "z" * 1_000_000)
    assert time.perf_counter() - started < 5.0
    assert reply  # the menu (or its usage), not silence and not "Sorry"


OLD_LINK = re.compile(  # the pattern before: a bare domain could start at any word boundary
    r"(?:https?://|www\.)\S+|chat\.whatsapp\.com/\S+|wa\.me/\S+|\b[a-z0-9-]{2,}\.(?:com|net|org|io|me|xyz|info|link|ly|gg)\b",
    re.IGNORECASE,
)


@given(text=st.lists(st.sampled_from(list("ab-_.éK /:") + ["com", "io", "www.", "http://"]), max_size=20).map("".join))
@settings(max_examples=1500)
def test_antilink_finds_every_link_the_old_pattern_found(text: str) -> None:
    assert bool(find_link(text)) >= bool(OLD_LINK.search(text))


@pytest.mark.parametrize("text", ["a-" * 32768, "ab-" * 21845, "x-" * 32000 + "evil.com"])
def test_antilink_reads_a_hostile_message_in_linear_time(text: str) -> None:
    """Every letter of "a-a-a-..." was a word boundary the old pattern scanned to the end from: 26 s."""
    started = time.perf_counter()
    find_link(text)
    assert time.perf_counter() - started < 1.0
    assert find_link("x-" * 32000 + "evil.com").endswith("evil.com")
