"""What a successful pairing writes, in the order it must happen; the bot child's pairing hook calls it.

The code shown on ``/pair/`` is used up the moment the phone is linked, so it is cleared first;
then the session row records the new device (and Heroku's config vars get the new credentials);
last a backup is made, so the new keys survive the next restart of an ephemeral host. The code
storage itself is ``sessions_store.pairing``.
"""

from __future__ import annotations

from sessions_store.models import SessionBackup
from sessions_store.pairing import pairing_code_clear

from .backups import backup_create
from .sessions import session_mark_paired


def session_pairing_succeeded(*, session_name: str, jid: str, push_name: str) -> None:
    """Clear the pairing code, mark the session paired as ``jid``, and back up its new store."""
    pairing_code_clear(session_name=session_name)
    session_mark_paired(session_name=session_name, jid=jid, push_name=push_name)
    backup_create(session_name=session_name, reason=SessionBackup.Reason.PAIRED)
