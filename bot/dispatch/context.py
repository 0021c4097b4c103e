"""What a command handler receives: ``CommandContext``.

A handler is ``def handler(ctx: CommandContext) -> list[Reply] | Reply | None``. The context gives:

- ``message``: the ``IncomingMessage``; ``chat``, ``sender``, ``sender_phone``, ``is_group`` shortcuts;
- ``command`` (canonical name), ``invoked_as`` (the alias typed), ``prefix`` (the one used);
- ``args``: the arguments split shell-style (``.choose "ice cream" cake`` -> ``['ice cream', 'cake']``),
  ``arg_text``: everything after the command word, as typed;
- ``targets``: JIDs the command is about -- the mentions, else the quoted message's sender, else ();
- ``session_name``, ``transport``, ``is_owner``, ``is_group_admin``, ``bot_is_admin``, ``group``
  (cached ``GroupInfo`` in a group, else None);
- named capabilities, never the router itself: ``state`` (persisted chat settings: prefix, bans,
  maintenance, group switches), ``owners``, ``bot_name``, ``bot_jid``, ``registry`` (the commands),
  ``groups`` (the metadata cache), ``moderator`` (the group rules and warning policies), ``stats``
  (what this session counted), ``outbound`` (pacing and what was sent), ``uptime()`` and ``clock()``;
- reply builders that fill in the chat, quoting and mentions:
  ``reply(text, mentions=(), quote=True)``, ``media(asset, kind='video', caption='', mentions=())``
  (the outbound resolves the asset; a video loops like a GIF), ``react(emoji)``,
  ``group_action(action, targets=(), text='')``, ``delete(message_id, sender)``;
- ``mention(jid)`` -> ``'@15551234567'`` for captions and texts (pair it with ``mentions=``);
- ``send(reply)``: send now through the paced outbound and get the ``SendResult`` (for the few
  commands that need an answer from WhatsApp, e.g. the invite link); returned replies are sent
  by the runtime after the handler.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from bot.transport.base import (
    GroupInfo,
    IncomingMessage,
    Reply,
    SendResult,
    Transport,
    jid_user,
)

if TYPE_CHECKING:
    from bot.dispatch.activity import ActivityCounter
    from bot.dispatch.afk import AwayBook
    from bot.dispatch.declarations import CommandSpec
    from bot.dispatch.filters import FilterBook
    from bot.dispatch.groups import GroupCache
    from bot.dispatch.moderator import Moderator
    from bot.dispatch.outbound import Outbound
    from bot.dispatch.parsing import ParsedCommand
    from bot.dispatch.registry import Registry
    from bot.dispatch.state import ChatState
    from bot.dispatch.stats import StatsCollector


def mention(jid: str) -> str:
    """'15551234567@s.whatsapp.net' -> '@15551234567' (what WhatsApp renders as a mention)."""
    return f"@{jid_user(jid)}"


@dataclass
class CommandContext:
    message: IncomingMessage
    command: str
    invoked_as: str
    prefix: str
    args: tuple[str, ...]
    arg_text: str
    session_name: str
    transport: Transport
    state: ChatState
    registry: Registry
    groups: GroupCache
    outbound: Outbound
    stats: StatsCollector
    owners: frozenset[str]
    bot_name: str
    bot_jid_of: Callable[[], str]
    clock: Callable[[], float]
    started_at: float
    is_owner: bool = False
    is_sudo: bool = False  # SUDO_NUMBERS: the owners' rights bar the owner-only commands
    away: AwayBook | None = None  # who is away (``.afk``)
    is_group_admin: bool = False
    bot_is_admin: bool = False
    group: GroupInfo | None = None
    rng: random.Random = field(default_factory=random.Random)
    moderator: Moderator | None = None  # the group rules (``.antilink``, ``.mod``, ``.warn``) and their book
    filters: FilterBook | None = None  # the chat's keyword filters (tell it when one changes)
    activity: ActivityCounter | None = None  # members' message counts (flush before reading them)
    wrong_usage: bool = field(default=False, init=False)  # set by usage(): this run did no work

    # -- shortcuts ------------------------------------------------------------------------------------
    @property
    def chat(self) -> str:
        return self.message.chat

    @property
    def sender(self) -> str:
        return self.message.sender

    @property
    def sender_phone(self) -> str:
        return self.message.sender_phone

    @property
    def is_group(self) -> bool:
        return self.message.is_group

    @property
    def targets(self) -> tuple[str, ...]:
        """Mentioned users, else the quoted message's sender, else nobody."""
        if self.message.mentions:
            return tuple(dict.fromkeys(self.message.mentions))
        if self.message.quoted_sender:
            return (self.message.quoted_sender,)
        return ()

    @property
    def user_key(self) -> str:
        """Who the sender is for bans, limits and warnings: phone digits, else the LID user."""
        return self.message.sender_phone or jid_user(self.message.sender)

    @property
    def bot_jid(self) -> str:
        """The bot's own JID ('' before the first connection)."""
        return self.bot_jid_of()

    def uptime(self) -> float:
        """Seconds since this session's router started."""
        return self.clock() - self.started_at

    def mention(self, jid: str) -> str:
        return mention(jid)

    def usage(self) -> str:
        """The command's usage line; asking for it marks this run as wrong usage (it spends no cooldown)."""
        self.wrong_usage = True
        spec = self.registry.lookup(self.command)
        usage = spec.usage if spec else ""
        return _("Usage: %(usage)s") % {"usage": f"{self.prefix}{self.command}{' ' + usage if usage else ''}"}

    # -- reply builders ---------------------------------------------------------------------------------
    def reply(self, text: str, *, mentions: tuple[str, ...] | list[str] = (), quote: bool = True) -> Reply:
        return Reply(
            kind="text",
            chat=self.chat,
            text=text,
            mentions=tuple(mentions),
            reply_to=self.message.id if quote else "",
            target=self.message.sender if quote else "",
        )

    def media(
        self,
        asset: str,
        *,
        kind: str = "video",
        caption: str = "",
        mentions: tuple[str, ...] | list[str] = (),
        gif_playback: bool | None = None,
        quote: bool = False,
    ) -> Reply:
        return Reply(
            kind=kind,  # type: ignore[arg-type]
            chat=self.chat,
            text=caption,
            asset=asset,
            mentions=tuple(mentions),
            gif_playback=(kind == "video") if gif_playback is None else gif_playback,
            reply_to=self.message.id if quote else "",
            target=self.message.sender if quote else "",
        )

    def react(self, emoji: str) -> Reply:
        return Reply(kind="reaction", chat=self.chat, emoji=emoji, reply_to=self.message.id, target=self.message.sender)

    def group_action(self, action: str, *, targets: tuple[str, ...] | list[str] = (), text: str = "") -> Reply:
        return Reply(kind="group", chat=self.chat, action=action, targets=tuple(targets), text=text)

    def delete(self, message_id: str, sender: str) -> Reply:
        return Reply(kind="delete", chat=self.chat, reply_to=message_id, target=sender)

    def send(self, reply: Reply) -> SendResult | None:
        """Send now (paced); None when it could not be sent."""
        return self.outbound.send(reply)


def context_build(
    router: Any,
    message: IncomingMessage,
    spec: CommandSpec,
    parsed: ParsedCommand,
    *,
    owner: bool,
    group: GroupInfo | None,
) -> CommandContext:
    """The context the router hands ``spec``'s handler: its named capabilities, never the router itself."""
    return CommandContext(
        message=message,
        command=spec.name,
        invoked_as=parsed.word,
        prefix=parsed.prefix,
        args=parsed.args,
        arg_text=parsed.arg_text,
        session_name=router.session_name,
        transport=router.transport,
        state=router.state,
        registry=router.registry,
        groups=router.groups,
        outbound=router.outbound,
        stats=router.stats,
        owners=router.owners,
        bot_name=router.bot_name,
        bot_jid_of=router.bot_jid,
        clock=router.clock,
        started_at=router.started_at,
        is_owner=owner,
        is_sudo=router.access.is_sudo(message.sender_phone),
        away=router.away,
        is_group_admin=bool(group and group.is_admin(message.sender, message.sender_alt)),
        bot_is_admin=bool(group and group.is_admin(router.bot_jid())),
        group=group,
        rng=router.rng,
        moderator=router.moderator,
        filters=router.filters,
        activity=router.activity,
    )
