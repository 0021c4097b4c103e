"""Compress, encrypt and checksum archives (and undo it, with one clear sentence on failure).

Stored bytes, format 3 (bound to their session, zstd)::

    b"BSKYENC3" + key id (8 ASCII hex) + nonce (12) + archive id (16, a UUID)
    + u8 length + owning session name (UTF-8) + AES-256-GCM(zstd level 3(archive))

The whole header is the associated data of the encryption: the owner and the archive id travel in
clear (so a refusal can say whose archive it is) but cannot be changed without failing to decrypt,
and an archive moved to another session, or to another backup row, is refused by name. The magic's
digit is the format and says which compressor: format 2 (the same header as 3, ``b"BSKYENC2"``) holds
zlib, as does format 1 (``b"BSKYENC1" + key id + nonce``, made before archives were bound); both still
open, so an upgrade keeps old backups and exported config vars working (the caller logs a format-1
archive as taken on trust). A header rewritten from one format to another fails to decrypt, since the
header is the associated data either way. zlib there is independent 1 MiB streams, concatenated;
zstd is one frame that states its size (``zstd -3`` writes the same, at about 5x zlib's speed).

The key is ``SESSION_ENCRYPTION_KEY`` (base64
of 32 bytes) or, when unset, derived from ``SECRET_KEY`` with HKDF-SHA256. The key id (a hash
prefix of the key) is stored with every backup so that a key change is reported as such, and
archives made with the ``SECRET_KEY``-derived key still open after ``SESSION_ENCRYPTION_KEY`` is
introduced.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from dataclasses import dataclass

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

MAGIC = b"BSKYENC1"  # format 1: unbound, zlib
MAGIC_BOUND = b"BSKYENC2"  # format 2: bound to its session and archive id, zlib
MAGIC_ZSTD = b"BSKYENC3"  # format 3: bound as format 2, zstd (what ``pack`` writes)
FORMATS = {MAGIC: 1, MAGIC_BOUND: 2, MAGIC_ZSTD: 3}
_NONCE = 12
_KEY_ID = 8
_ARCHIVE_ID = 16
HEADER_SIZE = len(MAGIC) + _KEY_ID + _NONCE  # of format 1; format 2 adds the binding after it
_MAX_OWNER = 255
ZSTD_LEVEL = 3
_MAX_RAW = 1 << 31  # what a frame may claim to expand to (an archive is megabytes)


class CryptoError(Exception):
    """Stored bytes could not be opened; the message is one sentence for the operator."""


class WrongKeyError(CryptoError):
    pass


class ForeignArchiveError(CryptoError):
    """A genuine archive of another session, or another archive than the one expected (moved or swapped)."""


@dataclass(frozen=True)
class Binding:
    """Whose archive it is: the owning session's name and the archive's id, both authenticated."""

    session_name: str
    archive_id: str  # str(uuid.UUID)


@dataclass(frozen=True)
class Packed:
    stored: bytes
    sha256: str
    key_id: str
    raw_size: int
    archive_id: str


@dataclass(frozen=True)
class Opened:
    """Decrypted, decompressed bytes and their binding (``None``: format 1, made before binding)."""

    raw: bytes
    binding: Binding | None
    format: int = 3


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
    """zstd at level 3, one frame stating its content size (what format 3 holds)."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(raw)


def decompress(data: bytes) -> bytes:
    """The inverse of :func:`compress`; a cut or trailing frame raises ``zstandard.ZstdError``."""
    return zstandard.ZstdDecompressor().decompress(data, max_output_size=_MAX_RAW, allow_extra_data=False)


def zlib_decompress(data: bytes) -> bytes:
    """Formats 1 and 2: zlib streams (1 MiB of input each) concatenated, read one after the other."""
    parts = []
    while True:
        stream = zlib.decompressobj()
        parts.append(stream.decompress(data))
        if not stream.eof:
            raise zlib.error("the compressed data ends early")
        data = stream.unused_data
        if not data:
            return b"".join(parts)


def _bound_header(key_id: str, binding: Binding) -> bytes:
    owner = binding.session_name.encode("utf-8")
    if not owner or len(owner) > _MAX_OWNER:
        raise CryptoError(f"Session name {binding.session_name[:60]!r} cannot own an archive (1-255 bytes).")
    archive_id = uuid.UUID(binding.archive_id).bytes
    return MAGIC_ZSTD + key_id.encode() + os.urandom(_NONCE) + archive_id + bytes([len(owner)]) + owner


def pack(raw: bytes, *, session_name: str, archive_id: str | None = None) -> Packed:
    """Compress then encrypt ``raw`` with the current key, bound to ``session_name`` and
    ``archive_id`` (a fresh UUID when not given); checksum the stored bytes."""
    key_id, key = keyring()[0]
    binding = Binding(session_name, str(uuid.UUID(str(archive_id))) if archive_id else str(uuid.uuid4()))
    header = _bound_header(key_id, binding)
    nonce = header[len(MAGIC_ZSTD) + _KEY_ID : HEADER_SIZE]
    stored = header + AESGCM(key).encrypt(nonce, compress(raw), header)
    return Packed(
        stored=stored, sha256=sha256_hex(stored), key_id=key_id, raw_size=len(raw), archive_id=binding.archive_id
    )


def _bad_header() -> CryptoError:
    return CryptoError("The stored bytes are not an encrypted BLACKSKY-MD archive (bad header or truncated).")


def _split(stored: bytes) -> tuple[bytes, Binding | None]:
    """(header, binding as the header says, not yet authenticated)."""
    if len(stored) < HEADER_SIZE + 16 or stored[: len(MAGIC)] not in FORMATS:
        raise _bad_header()
    if stored.startswith(MAGIC):
        return stored[:HEADER_SIZE], None
    owner_at = HEADER_SIZE + _ARCHIVE_ID + 1
    if len(stored) < owner_at:
        raise _bad_header()
    end = owner_at + stored[owner_at - 1]
    if stored[owner_at - 1] == 0 or len(stored) < end + 16:
        raise _bad_header()
    archive_id = str(uuid.UUID(bytes=stored[HEADER_SIZE : HEADER_SIZE + _ARCHIVE_ID]))
    return stored[:end], Binding(stored[owner_at:end].decode("utf-8", "replace"), archive_id)


def stored_key_id(stored: bytes) -> str:
    _split(stored)
    return stored[len(MAGIC) : len(MAGIC) + _KEY_ID].decode("ascii", "replace")


def stored_binding(stored: bytes) -> Binding | None:
    """The binding the header states (unauthenticated: :func:`open_stored` checks it)."""
    return _split(stored)[1]


def _check_binding(binding: Binding | None, *, owner: str | None, archive_id: str | None) -> None:
    if binding is None:
        if archive_id:
            raise ForeignArchiveError(
                f"Archive {archive_id} was expected, but the stored bytes are an unbound archive of format 1: "
                "they were swapped in, and are refused."
            )
        return
    if owner is not None and binding.session_name != owner:
        raise ForeignArchiveError(
            f"This is an archive of session {binding.session_name!r}, not of {owner!r} "
            f"(archive {binding.archive_id}): it was moved or swapped, and is refused."
        )
    if archive_id and binding.archive_id != str(archive_id):
        raise ForeignArchiveError(
            f"This is archive {binding.archive_id} of session {binding.session_name!r}, not archive {archive_id} "
            "as expected: it was swapped, and is refused."
        )


def open_stored(
    stored: bytes, *, expected_sha256: str | None = None, owner: str | None = None, archive_id: str | None = None
) -> Opened:
    """Check, decrypt and decompress stored bytes; raises ``CryptoError`` with the reason.

    ``owner`` (a session name) and ``archive_id``, when given, must be what a bound archive's
    authenticated header says (``ForeignArchiveError`` otherwise, naming the owner); an unbound
    archive (format 1) passes unless an ``archive_id`` was expected.
    """
    if expected_sha256 is not None and sha256_hex(stored) != expected_sha256:
        raise CryptoError("The checksum does not match: the stored bytes were changed or truncated.")
    header, binding = _split(stored)
    key_id = stored_key_id(stored)
    key = dict(keyring()).get(key_id)
    if key is None:
        raise WrongKeyError(
            f"It was encrypted with key id {key_id}, but the current key is {current_key_id()}: "
            "set the SESSION_ENCRYPTION_KEY (or SECRET_KEY) it was made with."
        )
    nonce = stored[len(MAGIC) + _KEY_ID : HEADER_SIZE]
    try:
        compressed = AESGCM(key).decrypt(nonce, stored[len(header) :], header)
    except InvalidTag:
        raise CryptoError("Decryption failed: the header or the data was tampered with or truncated.") from None
    _check_binding(binding, owner=owner, archive_id=archive_id)
    fmt = FORMATS[stored[: len(MAGIC)]]
    try:
        return Opened(decompress(compressed) if fmt == 3 else zlib_decompress(compressed), binding, fmt)
    except (zlib.error, zstandard.ZstdError) as exc:
        raise CryptoError(f"The decrypted data does not decompress ({exc}).") from None


def unpack(
    stored: bytes, *, expected_sha256: str | None = None, owner: str | None = None, archive_id: str | None = None
) -> bytes:
    """:func:`open_stored` without the binding: the plain archive bytes."""
    return open_stored(stored, expected_sha256=expected_sha256, owner=owner, archive_id=archive_id).raw
