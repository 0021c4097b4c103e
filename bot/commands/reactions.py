"""Reaction GIFs: ``.hug @bob`` sends one looping MP4 with the caption "@alice hugs @bob".

WhatsApp does not animate ``.gif`` files, so each reaction goes out as the asset's MP4 rendition
with ``gifPlayback`` (converted once at ingest by ``media_cdn``; the outbound resolves the asset).
The target is whoever is mentioned, else the author of the quoted message; with nobody (or only
yourself) the caption still reads naturally ("@alice wants a hug"), in the chat's language (the captions are lazy
translations, rendered when the command runs). Mentions are real: the
caption's ``@<number>`` tokens come with their JIDs, so WhatsApp shows names and notifies.
When the media cannot be found anywhere, the outbound sends the caption as text.

Every command is declared with literal ``@command(...)`` arguments, so the registry reads this menu
without importing the module (progressive loading).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from bot.commands._reacting import Reaction, caption_for, react_with
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.transport.base import Reply

CATEGORY = "reactions"

REACTIONS: dict[str, Reaction] = {
    "hug": Reaction(_("{actor} hugs {target}"), _("{actor} wants a hug"), "🤗"),
    "pat": Reaction(_("{actor} pats {target}"), _("{actor} pats the air"), "🫳"),
    "kiss": Reaction(_("{actor} kisses {target}"), _("{actor} blows a kiss"), "😘"),
    "cuddle": Reaction(_("{actor} cuddles {target}"), _("{actor} wants to cuddle"), "🥰"),
    "slap": Reaction(_("{actor} slaps {target}"), _("{actor} slaps the air"), "👋"),
    "bonk": Reaction(_("{actor} bonks {target}"), _("{actor} bonks themselves"), "🔨"),
    "punch": Reaction(_("{actor} punches {target}"), _("{actor} punches the air"), "👊"),
    "poke": Reaction(_("{actor} pokes {target}"), _("{actor} pokes around"), "👉"),
    "bite": Reaction(_("{actor} bites {target}"), _("{actor} is hungry"), "😬"),
    "highfive": Reaction(_("{actor} high-fives {target}"), _("{actor} wants a high five"), "🙌"),
    "yeet": Reaction(_("{actor} yeets {target}"), _("{actor} yeets into the void"), "🚀"),
    "kill": Reaction(_("{actor} knocks out {target}"), _("{actor} is on a rampage"), "💥"),
    "boop": Reaction(_("{actor} boops {target}"), _("{actor} boops their own nose"), "👆"),
    "smile": Reaction(_("{actor} smiles at {target}"), _("{actor} smiles"), "😊"),
    "happy": Reaction(_("{actor} is happy with {target}"), _("{actor} is happy"), "😄"),
    "wave": Reaction(_("{actor} waves at {target}"), _("{actor} waves"), "👋"),
    "dance": Reaction(_("{actor} dances with {target}"), _("{actor} dances"), "💃"),
    "cry": Reaction(_("{actor} cries on {target}'s shoulder"), _("{actor} cries"), "😢"),
    "blush": Reaction(_("{actor} blushes at {target}"), _("{actor} blushes"), "😊"),
    "laugh": Reaction(_("{actor} laughs at {target}"), _("{actor} laughs"), "😂"),
    "wink": Reaction(_("{actor} winks at {target}"), _("{actor} winks"), "😉"),
    "sleep": Reaction(_("{actor} falls asleep on {target}"), _("{actor} falls asleep"), "😴"),
}


def reaction_caption(name: str, *, actor: str, targets: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The caption of a built-in reaction and the JIDs it mentions."""
    return caption_for(REACTIONS[name], actor=actor, targets=targets)


def react(ctx: CommandContext, name: str) -> Reply:
    """One video reply: the built-in reaction's MP4 (its asset has the command's name)."""
    return react_with(ctx, REACTIONS[name], asset=name)


@command("hug", category="reactions", help="Hug someone.", usage="[@user]", cooldown=3)
def hug(ctx: CommandContext) -> Reply:
    return react(ctx, "hug")


@command(
    "pat", aliases=("headpat",), category="reactions", help="Pat someone on the head.", usage="[@user]", cooldown=3
)
def pat(ctx: CommandContext) -> Reply:
    return react(ctx, "pat")


@command("kiss", category="reactions", help="Kiss someone.", usage="[@user]", cooldown=3)
def kiss(ctx: CommandContext) -> Reply:
    return react(ctx, "kiss")


@command("cuddle", category="reactions", help="Cuddle someone.", usage="[@user]", cooldown=3)
def cuddle(ctx: CommandContext) -> Reply:
    return react(ctx, "cuddle")


@command("slap", category="reactions", help="Slap someone.", usage="[@user]", cooldown=3)
def slap(ctx: CommandContext) -> Reply:
    return react(ctx, "slap")


@command("bonk", category="reactions", help="Bonk someone.", usage="[@user]", cooldown=3)
def bonk(ctx: CommandContext) -> Reply:
    return react(ctx, "bonk")


@command("punch", category="reactions", help="Punch someone (cartoon style).", usage="[@user]", cooldown=3)
def punch(ctx: CommandContext) -> Reply:
    return react(ctx, "punch")


@command("poke", category="reactions", help="Poke someone.", usage="[@user]", cooldown=3)
def poke(ctx: CommandContext) -> Reply:
    return react(ctx, "poke")


@command("bite", category="reactions", help="Bite someone.", usage="[@user]", cooldown=3)
def bite(ctx: CommandContext) -> Reply:
    return react(ctx, "bite")


@command(
    "highfive", aliases=("high5", "hi5"), category="reactions", help="High-five someone.", usage="[@user]", cooldown=3
)
def highfive(ctx: CommandContext) -> Reply:
    return react(ctx, "highfive")


@command("yeet", category="reactions", help="Yeet someone.", usage="[@user]", cooldown=3)
def yeet(ctx: CommandContext) -> Reply:
    return react(ctx, "yeet")


@command(
    "kill",
    aliases=("ko",),
    category="reactions",
    help="Knock someone out (cartoon style).",
    usage="[@user]",
    cooldown=3,
)
def kill(ctx: CommandContext) -> Reply:
    return react(ctx, "kill")


@command("boop", category="reactions", help="Boop someone's nose.", usage="[@user]", cooldown=3)
def boop(ctx: CommandContext) -> Reply:
    return react(ctx, "boop")


@command("smile", category="reactions", help="Smile (at someone).", usage="[@user]", cooldown=3)
def smile(ctx: CommandContext) -> Reply:
    return react(ctx, "smile")


@command("happy", aliases=("yay",), category="reactions", help="Be happy (with someone).", usage="[@user]", cooldown=3)
def happy(ctx: CommandContext) -> Reply:
    return react(ctx, "happy")


@command("wave", category="reactions", help="Wave (at someone).", usage="[@user]", cooldown=3)
def wave(ctx: CommandContext) -> Reply:
    return react(ctx, "wave")


@command("dance", category="reactions", help="Dance (with someone).", usage="[@user]", cooldown=3)
def dance(ctx: CommandContext) -> Reply:
    return react(ctx, "dance")


@command(
    "cry", aliases=("sob",), category="reactions", help="Cry (on someone's shoulder).", usage="[@user]", cooldown=3
)
def cry(ctx: CommandContext) -> Reply:
    return react(ctx, "cry")


@command("blush", category="reactions", help="Blush (at someone).", usage="[@user]", cooldown=3)
def blush(ctx: CommandContext) -> Reply:
    return react(ctx, "blush")


@command("laugh", aliases=("lol",), category="reactions", help="Laugh (at someone).", usage="[@user]", cooldown=3)
def laugh(ctx: CommandContext) -> Reply:
    return react(ctx, "laugh")


@command("wink", category="reactions", help="Wink (at someone).", usage="[@user]", cooldown=3)
def wink(ctx: CommandContext) -> Reply:
    return react(ctx, "wink")


@command(
    "sleep", aliases=("sleepy",), category="reactions", help="Fall asleep (on someone).", usage="[@user]", cooldown=3
)
def sleep(ctx: CommandContext) -> Reply:
    return react(ctx, "sleep")
