"""What a successful pairing writes, in the order it must happen; the bot child's pairing hook calls it.

The code shown on ``/pair/`` is used up the moment the phone is linked, so it is cleared first;
then the session row records the new device (and Heroku's config vars get the new credentials);
then the new store takes the next generation; last a backup is made, so the new keys survive the next restart of an ephemeral host. The code
storage itself is ``sessions_store.pairing``.
"""

from __future__ import annotations

from sessions_store.models import SessionBackup
from sessions_store.pairing import pairing_code_clear
from sessions_store.store import store_for

from .backups import backup_create
from .generations import store_generation_begin
from .sessions import session_mark_paired


def session_pairing_succeeded(*, session_name: str, jid: str, push_name: str, fencing: int | None = None) -> None:
    """Clear the pairing code, mark the session paired as ``jid``, and back up its new store.

    The new device's store takes the next generation first: it is newer than every backup of the
    device before it, and a later start must never put one of those back over it.
    """
    pairing_code_clear(session_name=session_name)
    session = session_mark_paired(session_name=session_name, jid=jid, push_name=push_name)
    store_generation_begin(session=session, store=store_for(session_name), why="paired")
    backup_create(session_name=session_name, reason=SessionBackup.Reason.PAIRED, fencing=fencing)
