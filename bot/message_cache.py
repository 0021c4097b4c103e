"""The encrypted cache of recent messages behind anti-delete and anti-edit: every read and write of it.

Imported by the bot child (``bot.dispatch.history``) and by the retention task. The content of a
message (text or caption, kind, push name, the sender's other identity) is AES-256-GCM encrypted
with a key derived (HKDF-SHA256) from the session key material (``sessions_store.crypto.keyring``:
``SESSION_ENCRYPTION_KEY``, else ``SECRET_KEY``) and the session's name, so each session has its
own key; the associated data binds each ciphertext to its session, chat and message id, so a row
copied to another chat or message does not open. The key id is stored per row: after a key
rotation the old rows still open (the old key stays in ``SESSION_ENCRYPTION_OLD_KEYS``) until they
age out. A row that opens with no key is treated as missing (counted by the caller).

Bounds: rows older than ``ANTIDELETE_TTL_HOURS`` are never read and are deleted by the retention
task; an insert that goes past ``ANTIDELETE_MAX_PER_CHAT`` in its chat or ``ANTIDELETE_MAX_PER_SESSION``
in its session evicts the oldest down to 90% of that cap (so a full chat pays one DELETE per tenth); a text is kept up to ``MAX_TEXT`` characters.
On SQLite the child's threads take turns (``bot.outbox.one_at_a_time``), as for the outbox.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Subquery

from bot.models import CachedMessage
from bot.outbox import one_at_a_time
from sessions_store.crypto import keyring

MAX_TEXT = 4096  # characters of a text or caption kept; WhatsApp allows 65,536
_NONCE = 12
_INFO = b"blacksky-md message cache v1\x00"
_BOUNDS_KEPT = 10_000
_bounds: dict[tuple[str, str], int] = {}  # (session, chat or '') -> at most this many rows
_put_lock = threading.Lock()  # inserts take turns, so each bound counts every one of them


@dataclass(frozen=True)
class CachedContent:
    """One cached message, decrypted."""

    chat: str
    message_id: str
    sender: str
    sender_alt: str
    kind: str
    text: str
    push_name: str
    truncated: bool
    sent_at: datetime
    edits: int


@lru_cache(maxsize=256)
def _cache_key(key: bytes, session_name: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + session_name.encode("utf-8"))
    return hkdf.derive(key)


def _aad(session_name: str, chat: str, message_id: str) -> bytes:
    return json.dumps([session_name, chat, message_id], ensure_ascii=True).encode()


def content_seal(*, session_name: str, chat: str, message_id: str, payload: dict) -> tuple[str, bytes]:
    """(key id, nonce + ciphertext) of ``payload`` for this session, chat and message."""
    key_id, key = keyring()[0]
    nonce = os.urandom(_NONCE)
    plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sealed = AESGCM(_cache_key(key, session_name)).encrypt(nonce, plain, _aad(session_name, chat, message_id))
    return key_id, nonce + sealed


def content_open(*, session_name: str, chat: str, message_id: str, key_id: str, content: bytes) -> dict | None:
    """The payload, or None when no key of the keyring opens it (a lost key, a moved or changed row)."""
    content = bytes(content)
    for kid, key in keyring():
        if kid != key_id:
            continue
        try:
            plain = AESGCM(_cache_key(key, session_name)).decrypt(
                content[:_NONCE], content[_NONCE:], _aad(session_name, chat, message_id)
            )
        except (InvalidTag, ValueError):
            return None
        return json.loads(plain)
    return None


def _payload(*, text: str, kind: str, push_name: str, sender_alt: str) -> dict:
    return {"t": text[:MAX_TEXT], "k": kind, "p": push_name[:64], "a": sender_alt, "x": len(text) > MAX_TEXT}


@one_at_a_time
def message_cache_put(
    *,
    session_name: str,
    chat: str,
    message_id: str,
    sender: str,
    sender_alt: str,
    kind: str,
    text: str,
    push_name: str,
    sent_at: datetime,
) -> bool:
    """Keep one message (False when that id is kept already), then evict past the chat's and the session's cap."""
    payload = _payload(text=text, kind=kind, push_name=push_name, sender_alt=sender_alt)
    key_id, content = content_seal(session_name=session_name, chat=chat, message_id=message_id, payload=payload)
    with _put_lock, transaction.atomic():  # the insert and its evictions: one commit, the cost that matters
        try:
            with transaction.atomic():
                CachedMessage.objects.create(
                    session_name=session_name,
                    chat=chat[:128],
                    message_id=message_id[:128],
                    sender=sender[:128],
                    kind=kind[:16],
                    sent_at=sent_at,
                    key_id=key_id,
                    content=content,
                )
        except IntegrityError:
            return False
        _bound(
            (session_name, chat),
            CachedMessage.objects.filter(session_name=session_name, chat=chat),
            settings.ANTIDELETE_MAX_PER_CHAT,
        )
        _bound(
            (session_name, ""),
            CachedMessage.objects.filter(session_name=session_name),
            settings.ANTIDELETE_MAX_PER_SESSION,
        )
    return True


def _bound(key: tuple[str, str], rows, cap: int) -> None:
    """One row more under ``key`` (a chat, or a whole session): past ``cap``, evict the oldest down to 90% of it.

    The count is this process's upper bound, read once (``COUNT``) and then kept: only the session's
    bot child adds rows (the lease), everything else (retention, purge, the admin) only removes
    them, so the bound never falls below the truth and the exact eviction runs whenever it can be
    needed, never scanning the index on every insert (a session of 20,000 rows would cost that).
    """
    known = _bounds.get(key)  # under _put_lock: one insert at a time in this process
    count = rows.count() if known is None else known + 1
    if count > cap:  # evict down to 90% of the cap: one DELETE per tenth of the cap, never more than the cap
        keep = cap - cap // 10
        count = min(count - _evict(rows, keep), keep)
    if len(_bounds) >= _BOUNDS_KEPT and key not in _bounds:
        _bounds.clear()  # forgotten bounds are read again with COUNT: correct, one query dearer
    _bounds[key] = count


def _evict(rows, cap: int) -> int:
    """Delete the rows older than the ``cap`` newest (by insertion order): one DELETE whose bound is the
    id ``cap`` places down the index (NULL, so nothing, while under the cap)."""
    boundary = rows.order_by("-id").values("id")[cap : cap + 1]
    return rows.filter(id__lte=Subquery(boundary)).delete()[0]


def _live(session_name: str, chat: str, message_id: str, *, now: datetime):
    cutoff = now - timedelta(hours=settings.ANTIDELETE_TTL_HOURS)
    return CachedMessage.objects.filter(
        session_name=session_name, chat=chat, message_id=message_id, cached_at__gte=cutoff
    )


@one_at_a_time
def message_cache_get(*, session_name: str, chat: str, message_id: str, now: datetime) -> CachedContent | None:
    """The cached message, decrypted; None when it is not kept, too old, or opens with no key."""
    row = _live(session_name, chat, message_id, now=now).first()
    if row is None:
        return None
    payload = content_open(
        session_name=session_name, chat=chat, message_id=message_id, key_id=row.key_id, content=row.content
    )
    if payload is None:
        return None
    return CachedContent(
        chat=row.chat,
        message_id=row.message_id,
        sender=row.sender,
        sender_alt=str(payload.get("a", "")),
        kind=str(payload.get("k", row.kind)),
        text=str(payload.get("t", "")),
        push_name=str(payload.get("p", "")),
        truncated=bool(payload.get("x", False)),
        sent_at=row.sent_at,
        edits=row.edits,
    )


@one_at_a_time
def message_cache_replace_text(*, session_name: str, cached: CachedContent, text: str) -> None:
    """An edit: the kept text becomes the new one (encrypted afresh), one more edit counted."""
    payload = _payload(text=text, kind=cached.kind, push_name=cached.push_name, sender_alt=cached.sender_alt)
    key_id, content = content_seal(
        session_name=session_name, chat=cached.chat, message_id=cached.message_id, payload=payload
    )
    CachedMessage.objects.filter(session_name=session_name, chat=cached.chat, message_id=cached.message_id).update(
        key_id=key_id, content=content, edits=cached.edits + 1
    )


@one_at_a_time
def message_cache_delete(*, session_name: str, chat: str, message_id: str) -> int:
    """Forget one message (it was deleted and shown again: it is kept no longer)."""
    return CachedMessage.objects.filter(session_name=session_name, chat=chat, message_id=message_id).delete()[0]


@one_at_a_time
def message_cache_purge_chat(*, session_name: str, chat: str) -> int:
    """Forget every kept message of one chat (``.antidelete purge``, or both features turned off)."""
    return CachedMessage.objects.filter(session_name=session_name, chat=chat).delete()[0]


@one_at_a_time
def message_cache_prune(*, now: datetime, hours: int) -> dict[str, int]:
    """Retention: delete every row older than ``hours`` (all sessions)."""
    deleted, _ = CachedMessage.objects.filter(cached_at__lt=now - timedelta(hours=hours)).delete()
    return {"cached_messages": deleted}
