"""What the bot child writes to the sessions app when the connection tells it something.

The runtime calls these hooks from its main thread (never Go's): a QR or phone code to publish,
a pairing that succeeded, a connection (the admin's "last connected at"), an end for good. The
writes themselves are services of ``sessions_store``; a hook that fails is logged by the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.child.connection import Decision
from bot.links import pairing_page_url
from bot.transport.base import ConnectionSignal

TERMINAL_STATUSES = {"logged_out": "logged_out", "replaced": "replaced"}


def pairing_code_publish(*, session_name: str, kind: str, code: str) -> None:
    """The current QR / phone code: in the database for ``/pair/`` and in the terminal (never in a log)."""
    from sessions_store.pairing import PHONE_CODE_TTL_SECONDS, QR_TTL_SECONDS, pairing_code_store, pairing_qr_terminal

    ttl = QR_TTL_SECONDS if kind == "qr" else PHONE_CODE_TTL_SECONDS
    pairing_code_store(session_name=session_name, kind=kind, code=code, ttl_seconds=ttl)
    if kind == "qr":
        print("Scan this QR code with WhatsApp (Linked devices -> Link a device):", flush=True)
        print(pairing_qr_terminal(code), flush=True)
    else:
        print(f"Enter this code on your phone (Linked devices -> Link with phone number): {code}", flush=True)
    print(f"...or open the pairing page: {pairing_page_url()}", flush=True)


@dataclass(frozen=True)
class SessionHooks:
    """The hooks of one WhatsApp session, handed to :class:`bot.child.runtime.BotRuntime`."""

    session_name: str
    fencing: int | None = None  # the lease number the supervisor handed us: a stale child's backup is refused

    def on_qr(self, signal: ConnectionSignal) -> None:
        code = signal.detail.get("code", "")
        if code:
            kind = "phone_code" if signal.kind == "pair_code" else "qr"
            pairing_code_publish(session_name=self.session_name, kind=kind, code=code)

    def on_paired(self, signal: ConnectionSignal) -> None:
        from sessions_store.services import session_pairing_succeeded

        session_pairing_succeeded(
            session_name=self.session_name,
            jid=signal.detail.get("jid", ""),
            push_name=signal.detail.get("business_name", ""),
            fencing=self.fencing,
        )

    def on_connected(self, decision: Decision) -> None:
        from sessions_store.services import session_mark_connected

        session_mark_connected(session_name=self.session_name)

    def on_terminal(self, decision: Decision) -> None:
        from sessions_store.services import session_mark_status

        status = TERMINAL_STATUSES.get(str(decision.state.value), "")
        if status:
            session_mark_status(session_name=self.session_name, status=status, reason=decision.reason)
