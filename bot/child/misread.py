"""What the bot child does with the events it must not take at their word (imported by the runtime).

- A ``StreamReplaced`` is asked of the lease first: while our fencing number is still the lease's,
  the user opened WhatsApp Web elsewhere and the session is replaced for good (as always); once
  another process of ours took the lease (a takeover racing our reconnect), the child leaves with
  ``ChildExit.FENCED`` and marks nothing: the session is that process's now, healthy.
- A logout right after a restart-required stream error (515) ends the child with
  ``ChildExit.CONFIRM_LOGOUT``: the supervisor restores the newest backup (whatsmeow deleted the
  device row; the backup is left as it is until the logout is certain) and starts one child with
  ``--confirm-logout``, for which a logout is final and a connection proves it false.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.child.connection import Action, Decision
from bot.db_buffer import is_outage, outage_watch
from bot.heartbeat import ChildExit
from bot.transport.base import ConnectionSignal

logger = logging.getLogger("bot.child.runtime")


def lease_holder(*, session_name: str, fencing: int | None) -> str:
    """``ours`` while ``fencing`` is still the session's lease number, ``moved`` once another process
    took it, ``unknown`` when the database cannot say. Without a number (no lease) there is no other."""
    if fencing is None:
        return "ours"
    from sessions_store.lease import StaleFencing, lease_fence_check

    try:
        lease_fence_check(session_name=session_name, fencing=fencing)
    except StaleFencing:
        return "moved"
    except Exception as exc:
        if not is_outage(exc):
            raise
        outage_watch().failed(exc)
        return "unknown"
    return "ours"


def misread_act(runtime: Any, decision: Decision, signal: ConnectionSignal) -> bool:
    """Carry out the three actions of misreadable events; False for any other action."""
    session = runtime.session_name
    if decision.action == Action.CHECK_LEASE:
        holder = lease_holder(session_name=session, fencing=runtime.fencing)
        runtime.signals.put(replace(signal, detail={**signal.detail, "lease": holder}))
        return True
    if decision.action == Action.FENCED:
        logger.warning(
            "WhatsApp replaced this connection and the lease is not ours any more: leaving the session to its owner",
            extra={"session": session, "reason": decision.reason, "fencing": runtime.fencing},
        )
        runtime.request_stop(exit_code=ChildExit.FENCED, reason=decision.reason)
        return True
    if decision.action == Action.CONFIRM_LOGOUT:
        logger.warning(
            "logged out right after a restart-required stream error (515): not taken as final; "
            "the newest backup is restored and one reconnect confirms it",
            extra={"session": session, "logout_reason": decision.detail.get("logout_reason", "")},
        )
        runtime.request_stop(exit_code=ChildExit.CONFIRM_LOGOUT, reason="logout_unconfirmed")
        return True
    return False
