"""Reason codes of connection transitions that one process writes and another reads.

The bot child (``bot/child/connection.py``) records them; the web dyno (``ops/selectors``) turns
them into what operators read. Both import them from here, so neither imports the other.
"""

from __future__ import annotations

#: The first dial (or a re-dial we make ourselves) failed: no network, DNS, a refused or dead proxy.
WHATSAPP_UNREACHABLE = "whatsapp_unreachable"

#: The command that fixes an outdated client (WhatsApp refuses the version neonize reports).
NEONIZE_UPGRADE = "pip install -U neonize"

_OUTDATED = f"neonize is too old for WhatsApp: upgrade it ({NEONIZE_UPGRADE}, then pin it in requirements.txt)"

#: What an operator reads for a reason code (the raw code stays in the events table).
REASON_LABELS = {
    WHATSAPP_UNREACHABLE: "cannot reach WhatsApp",
    "client_outdated": _OUTDATED,
    "connect_failure_client_outdated": _OUTDATED,
    "connect_failure_bad_user_agent": f"WhatsApp refused neonize's user agent: upgrade neonize ({NEONIZE_UPGRADE})",
}

#: Kinds of send failure the counters tell apart: WhatsApp's rate limit (429 rate-overlimit), its
#: reach-out timelock for new chats (463), and everything else.
SEND_ERROR_KINDS = ("rate_overlimit", "reachout_timelock", "other")

#: What anti-call did with a call it rejected (``bot.dispatch.calls``): rejected, or WhatsApp refused the reject.
CALL_OUTCOMES = ("rejected", "reject_failed")

#: Kinds of undecryptable message: the server sent a placeholder (unavailable), or our keys failed.
UNDECRYPTABLE_KINDS = ("unavailable", "failed")

#: What anti-delete and anti-edit counted (``history:<kind>``, bot.dispatch.history): deletes and edits
#: shown again, deletes/edits of messages not kept, reposts over a chat's budget, edits by a non-author.
HISTORY_KINDS = ("delete_reposted", "edit_reposted", "unknown", "limited", "foreign_edit")

#: The supervisor's stale-store alert: messages failed to decrypt right after a restore (an event's reason).
UNDECRYPTABLE_AFTER_RESTORE = "undecryptable_after_restore"
