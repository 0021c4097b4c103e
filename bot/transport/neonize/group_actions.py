"""A ``group`` reply carried out through neonize: members added, removed, promoted, demoted; name,
topic, announce mode and invite links. Imported by the neonize transport (the bot child only)."""

from __future__ import annotations

from typing import Any

from neonize.utils.enum import ParticipantChange

from bot.transport.base import Reply, SendResult, TransportError
from bot.transport.neonize.translate import str_to_jid

_GROUP_ACTIONS = {
    "add": ParticipantChange.ADD,
    "remove": ParticipantChange.REMOVE,
    "promote": ParticipantChange.PROMOTE,
    "demote": ParticipantChange.DEMOTE,
}


def group_action_send(client: Any, reply: Reply) -> SendResult:
    """Do ``reply.action`` to ``reply.chat``; raises neonize's errors (the transport translates them)."""
    chat = str_to_jid(reply.chat)
    action = reply.action
    if action in _GROUP_ACTIONS:
        targets = [str_to_jid(t) for t in reply.targets]
        if not targets:
            raise TransportError(f"group {action} needs targets")
        client.update_group_participants(chat, targets, _GROUP_ACTIONS[action])
    elif action == "name":
        client.set_group_name(chat, reply.text)
    elif action == "topic":
        client.set_group_topic(chat, "", "", reply.text)
    elif action in {"announce", "unannounce"}:
        client.set_group_announce(chat, action == "announce")
    elif action in {"invite_link", "revoke_link"}:
        link = client.get_group_invite_link(chat, revoke=action == "revoke_link")
        return SendResult(id="", detail={"link": link})
    else:
        raise TransportError(f"unknown group action {action!r}")
    return SendResult(id="", detail={"action": action, "targets": list(reply.targets)})
