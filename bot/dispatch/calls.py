"""Anti-call: incoming calls rejected when REJECT_CALLS is on, the caller told why at most once an hour.

Imported by ``bot.dispatch.router`` (``Router.handle_call``), which a dispatcher thread of the
child calls for each ``IncomingCall`` the transport handed over. Owners and CALL_ALLOW numbers are
never rejected. Who was told when is a ``CallNotice`` row per caller, claimed by a conditional
update, so a flood of calls from one number is one row and one message an hour, a restart
included. Each call rejected is counted (``call:rejected``, or ``call:reject_failed`` when
WhatsApp refused the reject) into the session's one counter: ``/stats`` and ``/metrics`` show it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from bot.dispatch.stats import StatsCollector
from bot.models import CallNotice
from bot.transport.base import IncomingCall, Reply, Transport, TransportError, jid_user

log = logging.getLogger(__name__)

NOTICE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class CallPolicy:
    enabled: bool = False
    message: str = ""
    allow: frozenset[str] = frozenset()
    owners: frozenset[str] = frozenset()

    @classmethod
    def read(cls, value: Callable[[str], Any]) -> CallPolicy:
        """From the session's settings now (``value``: a variable's value by name)."""
        return cls(
            enabled=bool(value("REJECT_CALLS")),
            message=str(value("CALL_REJECT_MESSAGE")),
            allow=frozenset(value("CALL_ALLOW")),
            owners=frozenset(value("OWNER_NUMBERS")),
        )

    def decide(self, call: IncomingCall) -> str:
        """off (anti-call is off), owner, allowed (CALL_ALLOW), or reject."""
        if not self.enabled:
            return "off"
        phone = call.caller_phone
        if phone and phone in self.owners:
            return "owner"
        if phone and phone in self.allow:
            return "allowed"
        return "reject"


def call_notice_claim(*, session_name: str, caller: str, now: datetime, every: timedelta = NOTICE_EVERY) -> bool:
    """Count one rejected call from ``caller``; True when they are due the message (and now marked told)."""
    row, _created = CallNotice.objects.get_or_create(session_name=session_name, caller=caller)
    CallNotice.objects.filter(pk=row.pk).update(rejected=F("rejected") + 1, last_call_at=now)
    due = Q(notified_at__isnull=True) | Q(notified_at__lte=now - every)
    return bool(CallNotice.objects.filter(due, pk=row.pk).update(notified_at=now))


class CallGuard:
    def __init__(
        self, *, session_name: str, transport: Transport, policy: Callable[[], CallPolicy], stats: StatsCollector
    ) -> None:
        self.session_name = session_name
        self.transport = transport
        self.policy = policy
        self.stats = stats

    def handle(self, call: IncomingCall) -> tuple[list[Reply], str]:
        """Reject (or let ring) one call; the message to send, if due, and what was decided. Never raises."""
        policy = self.policy()  # read per call: a .setvar REJECT_CALLS=on applies to the next one
        verdict = policy.decide(call)
        if verdict != "reject":
            return [], verdict
        try:
            self.transport.reject_call(call)
        except TransportError as exc:
            self.stats.count("call:reject_failed")
            log.warning("call not rejected", extra={"session": self.session_name, "error": str(exc)[:200]})
            return [], "reject_failed"
        self.stats.count("call:rejected")
        caller = call.caller_phone or jid_user(call.caller)
        try:
            due = call_notice_claim(session_name=self.session_name, caller=caller, now=timezone.now())
        except Exception:
            log.exception("call notice not recorded", extra={"session": self.session_name})
            return [], "rejected"
        if not due or not policy.message:
            return [], "rejected"
        return [Reply(kind="text", chat=call.chat, text=policy.message)], "rejected_told"
