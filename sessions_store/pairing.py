"""The current pairing code of a session: stored short-lived in the database, shown as a QR.

On a cloud host the bot is paired from a browser: the supervisor stores every QR payload the bot
child reports (neonize's QR hook rotates it about every 20 s) or the phone pairing code of
``--pair-phone``, and the web dyno's ``/pair/`` page reads it back with :func:`pairing_code_current`
and draws it with :func:`pairing_qr_svg`. The terminal gets :func:`pairing_qr_terminal`.

A code links a phone to the bot, so it is as sensitive as a password while it lives: it is never
logged, only the newest one per session is kept, and it is cleared once pairing succeeded.
"""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime, timedelta

import segno
from django.utils import timezone

from sessions_store.models import PairingCode, WhatsAppSession

logger = logging.getLogger(__name__)

QR_TTL_SECONDS = 60  # neonize rotates the QR every 20 s (the first one lives 60 s)
PHONE_CODE_TTL_SECONDS = 180  # whatsmeow's pairing code is valid for about three minutes
_PHONE_CODE = re.compile(r"^[A-Z0-9]{4}-?[A-Z0-9]{4}$")
_MAX_CODE_LENGTH = 4096


def pairing_code_store(
    *, session_name: str, kind: str, code: str, ttl_seconds: float, now: datetime | None = None
) -> PairingCode:
    """Store the session's newest pairing code (``qr`` payload or ``phone_code``), replacing older ones."""
    if kind not in PairingCode.Kind.values:
        raise ValueError(f"pairing code kind must be one of {', '.join(PairingCode.Kind.values)}, not {kind!r}")
    code = (code or "").strip()
    if not code or len(code) > _MAX_CODE_LENGTH:
        raise ValueError(f"a pairing code must be 1 to {_MAX_CODE_LENGTH} characters")
    if kind == PairingCode.Kind.PHONE_CODE and not _PHONE_CODE.match(code.upper()):
        raise ValueError("a phone pairing code looks like ABCD-1234")
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    now = now or timezone.now()
    session, _ = WhatsAppSession.objects.named(session_name)
    if kind == PairingCode.Kind.QR:
        # While a phone code lives, the operator is typing it on the phone: the QR codes neonize keeps
        # rotating meanwhile must not take its place on /pair/.
        typing = PairingCode.objects.filter(
            session=session, kind=PairingCode.Kind.PHONE_CODE, consumed=False, expires_at__gt=now
        ).first()
        if typing is not None:
            return typing
    PairingCode.objects.filter(session=session).delete()
    pairing = PairingCode.objects.create(
        session=session,
        kind=kind,
        code=code.upper() if kind == PairingCode.Kind.PHONE_CODE else code,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    logger.info(
        "pairing code stored",
        extra={"session": session_name, "kind": kind, "expires_at": pairing.expires_at.isoformat()},
    )
    return pairing


def pairing_code_current(*, session_name: str, now: datetime | None = None) -> PairingCode | None:
    """The newest pairing code of the session that has neither expired nor been used; else None."""
    now = now or timezone.now()
    return (
        PairingCode.objects.filter(session__name=session_name, consumed=False, expires_at__gt=now)
        .order_by("-created_at", "-id")
        .first()
    )


def pairing_code_clear(*, session_name: str) -> int:
    """Mark the session's codes used (call on pairing success) so ``/pair/`` stops showing them."""
    return PairingCode.objects.filter(session__name=session_name, consumed=False).update(consumed=True)


def _qr(code: str) -> segno.QRCode:
    if not code:
        raise ValueError("nothing to draw: the QR payload is empty")
    # make_qr, never a Micro QR: phones' WhatsApp scanners read only full QR codes.
    return segno.make_qr(code, error="l")


def pairing_qr_terminal(code: str) -> str:
    """The QR as text for a terminal (half-block characters, light on dark, with its quiet zone)."""
    out = io.StringIO()
    _qr(code).terminal(out=out, compact=True)
    return out.getvalue()


def pairing_qr_svg(code: str) -> str:
    """The QR as an inline ``<svg>`` element for the ``/pair/`` page (black on white, quiet zone kept)."""
    return _qr(code).svg_inline(
        scale=6, dark="#000", light="#fff", svgclass="pair-qr", title="Scan with WhatsApp: Linked devices"
    )
