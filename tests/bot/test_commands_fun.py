"""Fun commands through router, handler and outbound, with a seeded random generator."""

from __future__ import annotations

import re

import pytest

from bot.commands import _fun_data
from bot.commands.fun import parse_dice
from tests.bot.dispatch_kit import ALICE, BOB, CAROL, OWNER, make_bot

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(settings):
    return make_bot(settings)


def fresh(bot, text: str, **kw) -> str:
    """Run ``text`` past any cooldown (fun commands have a few seconds each)."""
    bot.clock.advance(60)
    return bot.run_text(text, **kw)


def test_8ball_answers_from_its_list_and_needs_a_question(bot):
    answer = fresh(bot, ".8ball will it rain?")
    assert answer.startswith("🎱 ") and answer[2:] in _fun_data.EIGHT_BALL
    assert fresh(bot, ".8ball").startswith("Ask me a yes/no question.")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [("", (1, 6, 0)), ("20", (1, 20, 0)), ("d20", (1, 20, 0)), ("2d6+1", (2, 6, 1)), ("3D8-2", (3, 8, -2))],
)
def test_dice_specs(spec, parsed):
    assert parse_dice(spec) == parsed


@pytest.mark.parametrize("spec", ["0d6", "21d6", "d1", "d1001", "banana", "2x6"])
def test_bad_dice_specs_are_explained(spec):
    with pytest.raises(ValueError):
        parse_dice(spec)


def test_roll_stays_within_the_dice(bot):
    for _ in range(30):
        single = fresh(bot, ".roll")
        value = int(re.match(r"🎲 You rolled (\d+) \(d6\)\.", single).group(1))
        assert 1 <= value <= 6
    several = fresh(bot, ".roll 3d4+2")
    rolls, total = re.match(r"🎲 (.+) \+ 2 = \*(\d+)\*", several).groups()
    faces = [int(x) for x in rolls.split(" + ")]
    assert len(faces) == 3 and all(1 <= f <= 4 for f in faces) and int(total) == sum(faces) + 2
    assert fresh(bot, ".roll 99d6").startswith("Can't roll that: roll between 1 and 20 dice")


def test_flip_gives_heads_and_tails(bot):
    seen = {fresh(bot, ".flip") for _ in range(30)}
    assert seen == {"🪙 Heads!", "🪙 Tails!"}


def test_rps_plays_fairly(bot):
    outcomes = set()
    for _ in range(40):
        text = fresh(bot, ".rps rock")
        you, me = re.match(r"You: \S+ (\w+) - me: \S+ (\w+)\. ", text).groups()
        assert you == "rock"
        expected = {"rock": "It's a draw!", "scissors": "You win!", "paper": "I win!"}[me]
        assert text.endswith(expected)
        outcomes.add(expected)
    assert len(outcomes) == 3
    assert fresh(bot, ".rps s").startswith("You: ✌️ scissors")
    assert fresh(bot, ".rps lizard").startswith("Pick rock, paper or scissors.")


@pytest.mark.parametrize(
    ("text", "options"),
    [
        (".choose tea | coffee | water", {"tea", "coffee", "water"}),
        (".choose pizza, pasta", {"pizza", "pasta"}),
        ('.choose "ice cream" cake', {"ice cream", "cake"}),
    ],
)
def test_choose_picks_one_of_the_options(bot, text, options):
    picked = {re.match(r"I choose: \*(.+)\*", fresh(bot, text)).group(1) for _ in range(20)}
    assert picked <= options and len(picked) >= 2


def test_choose_needs_two_options(bot):
    assert fresh(bot, ".choose tea").startswith("Give me at least two options.")
    assert fresh(bot, ".choose tea | tea").startswith("Give me at least two options.")


def test_fact_and_quote_come_from_the_bundled_lists(bot):
    fact = fresh(bot, ".fact")
    assert fact.startswith("💡 ") and fact[2:] in _fun_data.FACTS
    quote = fresh(bot, ".quote")
    body, author = re.match(r"“(.+)”\n- (.+)", quote).groups()
    assert (body, author) in _fun_data.QUOTES


def test_fun_commands_have_cooldowns_per_user(bot):
    bot.run(".flip", sender=ALICE)
    assert bot.run_text(".flip", sender=ALICE).startswith("Please wait")
    assert bot.run_text(".flip", sender=BOB).startswith("🪙")
    assert bot.run_text(".coin", sender=CAROL).startswith("🪙")  # aliases share the command
    assert bot.run(".coin", sender=CAROL)[0].text.startswith("Please wait")
    assert bot.run_text(".flip", sender=OWNER).startswith("🪙")
