"""Compress, encrypt and checksum archives (and undo it, with one clear sentence on failure).

Stored bytes: ``b"BSKYENC1" + key id (8 ASCII hex) + nonce (12) + AES-256-GCM(zlib(archive))``
(zlib as independent 1 MiB streams, concatenated), the
header authenticated as associated data. The key is ``SESSION_ENCRYPTION_KEY`` (base64 of 32 bytes)
or, when unset, derived from ``SECRET_KEY`` with HKDF-SHA256. The key id (a hash prefix of the key)
is stored with every backup so that a key change is reported as such, and archives made with the
``SECRET_KEY``-derived key still open after ``SESSION_ENCRYPTION_KEY`` is introduced.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

MAGIC = b"BSKYENC1"
_NONCE = 12
_KEY_ID = 8
HEADER_SIZE = len(MAGIC) + _KEY_ID + _NONCE
COMPRESSION_LEVEL = 6
CHUNK = 1024 * 1024


class CryptoError(Exception):
    """Stored bytes could not be opened; the message is one sentence for the operator."""


class WrongKeyError(CryptoError):
    pass


@dataclass(frozen=True)
class Packed:
    stored: bytes
    sha256: str
    key_id: str
    raw_size: int


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"blacksky-md session key id\x00" + key).hexdigest()[:_KEY_ID]


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"blacksky-md", info=b"session backups v1")
    return hkdf.derive(secret.encode())


def _decode_b64_key(value: str) -> bytes:
    normalized = value.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(normalized + "=" * (-len(normalized) % 4))


def keyring() -> list[tuple[str, bytes]]:
    """(key id, key) pairs: the current key first (it encrypts), then the keys that still decrypt:
    ``SESSION_ENCRYPTION_OLD_KEYS`` (rotation) and the ``SECRET_KEY``-derived one."""
    keys: list[bytes] = []
    if settings.SESSION_ENCRYPTION_KEY:
        keys.append(_decode_b64_key(settings.SESSION_ENCRYPTION_KEY))
    keys.extend(_decode_b64_key(old) for old in getattr(settings, "SESSION_ENCRYPTION_OLD_KEYS", []))
    keys.append(_derived_key(settings.SECRET_KEY))
    return [(_key_id(k), k) for k in dict.fromkeys(keys)]


def current_key_id() -> str:
    return keyring()[0][0]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def compress(raw: bytes) -> bytes:
    """zlib in independent 1 MiB streams, compressed on every core (zlib releases the GIL)."""
    chunks = [raw[i : i + CHUNK] for i in range(0, len(raw), CHUNK)] or [b""]
    if len(chunks) == 1:
        return zlib.compress(chunks[0], COMPRESSION_LEVEL)
    with ThreadPoolExecutor(max_workers=min(len(chunks), os.cpu_count() or 1)) as pool:
        return b"".join(pool.map(lambda chunk: zlib.compress(chunk, COMPRESSION_LEVEL), chunks))


def decompress(data: bytes) -> bytes:
    """The inverse of :func:`compress`: the concatenated zlib streams, one after the other."""
    parts = []
    while True:
        stream = zlib.decompressobj()
        parts.append(stream.decompress(data))
        if not stream.eof:
            raise zlib.error("the compressed data ends early")
        data = stream.unused_data
        if not data:
            return b"".join(parts)


def pack(raw: bytes) -> Packed:
    """Compress then encrypt ``raw`` with the current key; checksum the stored bytes."""
    key_id, key = keyring()[0]
    header = MAGIC + key_id.encode() + os.urandom(_NONCE)
    stored = header + AESGCM(key).encrypt(header[-_NONCE:], compress(raw), header)
    return Packed(stored=stored, sha256=sha256_hex(stored), key_id=key_id, raw_size=len(raw))


def stored_key_id(stored: bytes) -> str:
    if len(stored) < HEADER_SIZE + 16 or not stored.startswith(MAGIC):
        raise CryptoError("The stored bytes are not an encrypted BLACKSKY-MD archive (bad header or truncated).")
    return stored[len(MAGIC) : len(MAGIC) + _KEY_ID].decode("ascii", "replace")


def unpack(stored: bytes, *, expected_sha256: str | None = None) -> bytes:
    """Check, decrypt and decompress stored bytes; raises ``CryptoError`` with the reason."""
    if expected_sha256 is not None and sha256_hex(stored) != expected_sha256:
        raise CryptoError("The checksum does not match: the stored bytes were changed or truncated.")
    key_id = stored_key_id(stored)
    keys = dict(keyring())
    key = keys.get(key_id)
    if key is None:
        raise WrongKeyError(
            f"It was encrypted with key id {key_id}, but the current key is {current_key_id()}: "
            "set the SESSION_ENCRYPTION_KEY (or SECRET_KEY) it was made with."
        )
    header = stored[:HEADER_SIZE]
    try:
        compressed = AESGCM(key).decrypt(header[-_NONCE:], stored[HEADER_SIZE:], header)
    except InvalidTag:
        raise CryptoError("Decryption failed: the data was tampered with or truncated.") from None
    try:
        return decompress(compressed)
    except zlib.error as exc:
        raise CryptoError(f"The decrypted data does not decompress ({exc}).") from None
