"""Fun commands, all offline: 8ball, roll, flip, rps, choose, fact, quote.

Randomness comes from ``ctx.rng`` (the session's ``random.Random``), so tests can seed it.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bot.commands import _fun_data
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.transport.base import Reply

MAX_DICE = 20
MAX_SIDES = 1000
_DICE = re.compile(r"^(\d*)d(\d+)([+-]\d+)?$", re.IGNORECASE)
RPS_MOVES = {"rock": "✊", "paper": "✋", "scissors": "✌️"}
RPS_BEATS = {"rock": "scissors", "paper": "rock", "scissors": "paper"}
RPS_ALIASES = {
    "r": "rock",
    "p": "paper",
    "s": "scissors",
    "stone": "rock",
    "scissor": "scissors",
    "piedra": "rock",
    "papel": "paper",
    "tijera": "scissors",
    "tijeras": "scissors",
}
RPS_NAMES = {"rock": gettext_lazy("rock"), "paper": gettext_lazy("paper"), "scissors": gettext_lazy("scissors")}


@command(
    "8ball",
    aliases=("eightball", "magic8"),
    category="fun",
    help="Ask the magic 8-ball a yes/no question.",
    usage="<question>",
    cooldown=3,
)
def eight_ball(ctx: CommandContext) -> Reply:
    if not ctx.arg_text:
        return ctx.reply(_("Ask me a yes/no question. %(usage)s") % {"usage": ctx.usage()})
    return ctx.reply(f"🎱 {ctx.rng.choice(_fun_data.EIGHT_BALL)}")


def parse_dice(spec: str) -> tuple[int, int, int]:
    """'2d6+1' -> (2, 6, 1); '20' -> (1, 20, 0); '' -> (1, 6, 0). Raises ValueError with a reason."""
    spec = spec.strip().lower()
    if not spec:
        return 1, 6, 0
    if spec.isdigit():
        count, sides, bonus = 1, int(spec), 0
    else:
        match = _DICE.match(spec)
        if not match:
            raise ValueError(_("write dice like 6, d20, 2d6 or 3d8+2"))
        count = int(match.group(1) or 1)
        sides = int(match.group(2))
        bonus = int(match.group(3) or 0)
    if not 1 <= count <= MAX_DICE:
        raise ValueError(_("roll between 1 and %(most)d dice") % {"most": MAX_DICE})
    if not 2 <= sides <= MAX_SIDES:
        raise ValueError(_("dice have between 2 and %(most)d sides") % {"most": MAX_SIDES})
    return count, sides, bonus


@command(
    "roll",
    aliases=("dice",),
    category="fun",
    help="Roll dice (default one six-sided die).",
    usage="[6 | d20 | 2d6+1]",
    cooldown=2,
)
def roll(ctx: CommandContext) -> Reply:
    try:
        count, sides, bonus = parse_dice(ctx.args[0] if ctx.args else "")
    except ValueError as exc:
        return ctx.reply(_("Can't roll that: %(reason)s.") % {"reason": exc})
    rolls = [ctx.rng.randint(1, sides) for _ in range(count)]
    total = sum(rolls) + bonus
    if count == 1 and not bonus:
        return ctx.reply(_("🎲 You rolled %(total)d (d%(sides)d).") % {"total": total, "sides": sides})
    shown = " + ".join(map(str, rolls)) + (f" {'+' if bonus > 0 else '-'} {abs(bonus)}" if bonus else "")
    return ctx.reply(f"🎲 {shown} = *{total}*")


@command("flip", aliases=("coin", "coinflip"), category="fun", help="Flip a coin.", cooldown=2)
def flip(ctx: CommandContext) -> Reply:
    return ctx.reply(f"🪙 {ctx.rng.choice((_('Heads'), _('Tails')))}!")


@command("rps", category="fun", help="Rock, paper, scissors against the bot.", usage="rock|paper|scissors", cooldown=2)
def rps(ctx: CommandContext) -> Reply:
    word = ctx.args[0].lower() if ctx.args else ""
    move = RPS_ALIASES.get(word, word)
    if move not in RPS_MOVES:
        return ctx.reply(_("Pick rock, paper or scissors. %(usage)s") % {"usage": ctx.usage()})
    mine = ctx.rng.choice(tuple(RPS_MOVES))
    if mine == move:
        outcome = _("It's a draw!")
    elif RPS_BEATS[move] == mine:
        outcome = _("You win!")
    else:
        outcome = _("I win!")
    return ctx.reply(
        _("You: %(yours)s - me: %(mine)s. %(outcome)s")
        % {
            "yours": f"{RPS_MOVES[move]} {RPS_NAMES[move]}",
            "mine": f"{RPS_MOVES[mine]} {RPS_NAMES[mine]}",
            "outcome": outcome,
        }
    )


def split_choices(ctx: CommandContext) -> list[str]:
    """Options separated by '|' or ',' (or shell-style words when there are no separators)."""
    text = ctx.arg_text
    for separator in ("|", ","):
        if separator in text:
            return [part.strip() for part in text.split(separator) if part.strip()]
    return [a for a in ctx.args if a.strip()]


@command(
    "choose",
    aliases=("pick",),
    category="fun",
    help="Let the bot choose for you.",
    usage='a | b | c  (or: "ice cream" cake)',
    cooldown=2,
)
def choose(ctx: CommandContext) -> Reply:
    options = split_choices(ctx)
    if len(set(options)) < 2:
        return ctx.reply(_("Give me at least two options. %(usage)s") % {"usage": ctx.usage()})
    return ctx.reply(_("I choose: *%(choice)s*") % {"choice": ctx.rng.choice(options)})


@command("fact", aliases=("funfact",), category="fun", help="A random fact.", cooldown=3)
def fact(ctx: CommandContext) -> Reply:
    return ctx.reply(f"💡 {ctx.rng.choice(_fun_data.FACTS)}")


@command("quote", aliases=("inspire",), category="fun", help="A random quote.", cooldown=3)
def quote(ctx: CommandContext) -> Reply:
    text, author = ctx.rng.choice(_fun_data.QUOTES)
    return ctx.reply(f"“{text}”\n- {author}")
