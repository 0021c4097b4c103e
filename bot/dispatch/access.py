"""Who may run which command, and where: owners, sudo users, group admins, the bot mode.

Imported by ``bot.dispatch.router``. Levels a command declares (``who=``): ``anyone``,
``group_admin``, ``sudo`` (owners and SUDO_NUMBERS) and ``owner`` (OWNER_NUMBERS only: the
maintenance commands). A sudo user has the owners' rights everywhere else: past bans, maintenance
mode, rate limits and group-admin checks. With ``BOT_MODE=private`` nobody else runs a command.
Phone numbers match exactly, through the phone JID of a LID sender.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from bot.dispatch.declarations import CommandSpec
from bot.dispatch.groups import GroupCache
from bot.transport.base import GroupInfo, IncomingMessage


@dataclass(frozen=True)
class Access:
    owners: frozenset[str]
    sudo: frozenset[str] = frozenset()
    private: bool = False

    @classmethod
    def build(cls, *, owners: Iterable[str], sudo: Iterable[str] = (), mode: str = "public") -> Access:
        owner_set = frozenset(o for o in owners if o)
        return cls(owners=owner_set, sudo=frozenset(s for s in sudo if s) - owner_set, private=mode == "private")

    @classmethod
    def read(cls, value: Callable[[str], Any]) -> Access:
        """From the session's settings now (``value``: a variable's value by name, the chat's overrides included)."""
        return cls.build(owners=value("OWNER_NUMBERS"), sudo=value("SUDO_NUMBERS"), mode=value("BOT_MODE"))

    def is_owner(self, phone: str) -> bool:
        return bool(phone) and phone in self.owners

    def is_sudo(self, phone: str) -> bool:
        return bool(phone) and phone in self.sudo

    def privileged(self, phone: str) -> bool:
        """Owner or sudo: the rights of an owner, bar the owner-only commands."""
        return self.is_owner(phone) or self.is_sudo(phone)


@dataclass(frozen=True)
class Refusal:
    text: str
    reason: str


def place_and_permission_check(
    message: IncomingMessage,
    spec: CommandSpec,
    *,
    access: Access,
    groups: GroupCache,
    bot_jid: Callable[[], str],
) -> Refusal | GroupInfo | None:
    """Where (group/private), who (owner, sudo, group admin, from the cached group metadata) and
    whether the bot must be a group admin; the group's metadata when it was needed."""
    phone = message.sender_phone
    owner, privileged = access.is_owner(phone), access.privileged(phone)
    needs_group = spec.where == "group" or spec.who == "group_admin" or spec.bot_admin
    if needs_group and not message.is_group:
        return Refusal(_("This command works in groups only."), "group_only")
    if spec.where == "private" and message.is_group:
        return Refusal(_("This command works in a private chat with me only."), "private_only")
    if spec.who == "owner" and not owner:
        return Refusal(_("Only the bot owner can use this command."), "not_owner")
    if spec.who == "sudo" and not privileged:
        return Refusal(_("Only the bot owner or a sudo user can use this command."), "not_sudo")
    group: GroupInfo | None = None
    if message.is_group and needs_group:
        group = groups.get(message.chat)
        if group is None:
            return Refusal(
                _("I couldn't read this group's details right now. Please try again in a minute."), "group_unavailable"
            )
    if spec.who == "group_admin" and not privileged:
        assert group is not None
        if not group.is_admin(message.sender, message.sender_alt):
            return Refusal(_("Only group admins can use this command."), "not_admin")
    if spec.bot_admin:
        assert group is not None
        if not group.is_admin(bot_jid()):
            return Refusal(_("I need to be a group admin to do that. Make me admin and try again."), "bot_not_admin")
    return group
