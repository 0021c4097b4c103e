"""What every reaction command shares, built-in or declared for an imported GIF: the caption and the reply.

Loaded in the bot child with the command modules. A caption names the actor and each target once
(at most ``MAX_TARGETS``), and its ``@<number>`` tokens come with their JIDs, so WhatsApp shows
names and notifies.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.transport.base import Reply, jid_user

MAX_TARGETS = 5


@dataclass(frozen=True)
class Reaction:
    with_target: str  # "{actor} hugs {target}"
    alone: str  # "{actor} wants a hug"
    emoji: str


def _join(names: list[str]) -> str:
    """['@a'] -> '@a'; ['@a', '@b'] -> '@a and @b'; ['@a', '@b', '@c'] -> '@a, @b and @c'."""
    if len(names) == 1:
        return names[0]
    return _("%(first)s and %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}


def caption_for(reaction: Reaction, *, actor: str, targets: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The caption and the JIDs it mentions: the actor first, then each target once."""
    me = jid_user(actor)
    others = [t for t in dict.fromkeys(targets) if jid_user(t) != me][:MAX_TARGETS]
    actor_text = f"@{me}"
    if not others:
        text, mentions = reaction.alone.format(actor=actor_text), (actor,)
    else:
        target_text = _join([f"@{jid_user(t)}" for t in others])
        text, mentions = reaction.with_target.format(actor=actor_text, target=target_text), (actor, *others)
    return (f"{text} {reaction.emoji}" if reaction.emoji else text), mentions


def react_with(ctx: CommandContext, reaction: Reaction, *, asset: str) -> Reply:
    """One video reply: the asset's MP4 looping as a GIF, the caption and its mentions."""
    caption, mentions = caption_for(reaction, actor=ctx.sender, targets=ctx.targets)
    return ctx.media(asset, kind="video", caption=caption, mentions=mentions, gif_playback=True)
