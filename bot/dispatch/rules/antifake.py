"""Antifake: a new member whose number's country calling code the group refuses (acted on at join).

Country calling codes (ITU E.164) form a prefix code: no code is the start of another, so the
digits' start names the country with no table. A member known only by a LID has no number to
judge: that is no hit (the moderator first asks WhatsApp for the group's numbers).
"""

from __future__ import annotations


def calling_code_of(phone: str, codes: frozenset[str]) -> str:
    """The code among ``codes`` that ``phone`` starts with ('' when none)."""
    return next((code for code in codes if phone.startswith(code)), "")


def calling_code_hit(phone: str, *, allow: frozenset[str], block: frozenset[str]) -> str:
    """Why this number is refused ('' when it is let in): outside the allowed codes, or in a blocked one."""
    if not phone:
        return ""
    blocked = calling_code_of(phone, block)
    if blocked:
        return f"+{blocked} is blocked"
    if allow and not calling_code_of(phone, allow):
        return "country code not allowed"
    return ""
