"""The portable archive and its encryption: exact round trips and clear refusals."""

from __future__ import annotations

import base64
import zlib

import pytest
import zstandard

from sessions_store import crypto
from sessions_store.snapshot import (
    Archive,
    ArchiveError,
    archive_check_restorable,
    archive_decode,
    archive_encode,
    archive_from_store,
)
from sessions_store.store import TableData

from .factories import make_paired_store

KEY_A = base64.b64encode(b"A" * 32).decode()
KEY_B = base64.b64encode(b"B" * 32).decode()


def _sample() -> Archive:
    return Archive(
        tables=[
            TableData(
                "whatsmeow_pre_keys",
                ("jid", "key_id", "key", "uploaded"),
                ("text", "int", "bytes", "bool"),
                [("a@s", 1, b"\x00" * 32, True), ("a@s", None, b"", False), ("ü😀", 2**40, b"\xff\x00\x01", True)],
            ),
            TableData("whatsmeow_contacts", ("our_jid", "full_name"), ("text", "text"), [("a@s", None), ("a@s", "")]),
            TableData("whatsmeow_lid_map", ("lid", "pn"), ("text", "text"), []),
        ],
        device_jid="a@s",
        source_backend="sqlite",
    )


def test_an_archive_round_trips_every_value_and_type():
    archive = _sample()
    back = archive_decode(archive_encode(archive))
    assert [t.rows for t in back.tables] == [t.rows for t in archive.tables]
    assert [t.types for t in back.tables] == [t.types for t in archive.tables]
    assert back.tables[0].rows[1][2] == b""  # empty bytes stay bytes, not NULL
    assert back.tables[1].rows[0][1] is None and back.tables[1].rows[1][1] == ""
    assert back.device_jid == "a@s" and back.whatsmeow_version == (15, 8)


@pytest.mark.django_db
def test_an_archive_of_a_real_store_round_trips_bit_for_bit():
    archive = archive_from_store(make_paired_store("rt"))
    back = archive_decode(archive_encode(archive))
    assert {t.name: t.rows for t in back.tables} == {t.name: t.rows for t in archive.tables}
    assert back.row_counts["whatsmeow_device"] == 1


def test_a_truncated_archive_is_refused_with_a_sentence():
    raw = archive_encode(_sample())
    with pytest.raises(ArchiveError, match="truncated|wrong size"):
        archive_decode(raw[:-5])
    with pytest.raises(ArchiveError, match="not a BLACKSKY-MD"):
        archive_decode(b"XXXXXX" + raw[6:])


def test_an_archive_without_a_device_cannot_be_restored():
    with pytest.raises(ArchiveError, match="no device"):
        archive_check_restorable(_sample())


def test_an_archive_of_another_whatsmeow_schema_cannot_be_restored():
    archive = _sample()
    archive.whatsmeow_version = (9, 8)
    with pytest.raises(ArchiveError, match="schema"):
        archive_check_restorable(archive)


def test_packed_bytes_open_again_and_carry_the_key_id(settings):
    packed = crypto.pack(b"hello" * 1000, session_name="s")
    assert packed.key_id == crypto.current_key_id()
    assert crypto.stored_key_id(packed.stored) == packed.key_id
    assert crypto.unpack(packed.stored, expected_sha256=packed.sha256) == b"hello" * 1000


def test_a_changed_byte_fails_the_checksum_and_the_decryption(settings):
    packed = crypto.pack(b"secret state", session_name="s")
    tampered = bytearray(packed.stored)
    tampered[-3] ^= 1
    with pytest.raises(crypto.CryptoError, match="checksum"):
        crypto.unpack(bytes(tampered), expected_sha256=packed.sha256)
    with pytest.raises(crypto.CryptoError, match="tampered"):
        crypto.unpack(bytes(tampered))


def test_a_wrong_key_is_named_as_such(settings):
    settings.SESSION_ENCRYPTION_KEY = KEY_A
    packed = crypto.pack(b"state", session_name="s")
    settings.SESSION_ENCRYPTION_KEY = KEY_B
    with pytest.raises(crypto.WrongKeyError, match=f"key id {packed.key_id}"):
        crypto.unpack(packed.stored)


def test_a_rotated_key_still_opens_old_archives_while_new_ones_use_the_new_key(settings):
    settings.SESSION_ENCRYPTION_KEY = KEY_A
    old = crypto.pack(b"before rotation", session_name="s")
    settings.SESSION_ENCRYPTION_KEY = KEY_B
    settings.SESSION_ENCRYPTION_OLD_KEYS = [KEY_A]
    new = crypto.pack(b"after rotation", session_name="s")
    assert new.key_id == crypto.current_key_id() != old.key_id
    assert crypto.unpack(old.stored) == b"before rotation"
    settings.SESSION_ENCRYPTION_OLD_KEYS = []
    with pytest.raises(crypto.WrongKeyError):
        crypto.unpack(old.stored)
    assert crypto.unpack(new.stored) == b"after rotation"


def test_archives_made_with_the_secret_key_still_open_after_an_encryption_key_is_set(settings):
    packed = crypto.pack(b"state", session_name="s")
    settings.SESSION_ENCRYPTION_KEY = KEY_A
    assert crypto.current_key_id() != packed.key_id
    assert crypto.unpack(packed.stored) == b"state"


def test_the_derived_key_depends_on_the_secret_key(settings):
    first = crypto.current_key_id()
    settings.SECRET_KEY = "another-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    assert crypto.current_key_id() != first


def test_the_structural_check_catches_what_the_full_parse_catches():
    raw = archive_encode(_sample())
    checked = archive_decode(raw, materialize=False)
    assert checked.extra["row_counts"] == _sample().row_counts
    assert all(not t.rows for t in checked.tables)
    with pytest.raises(ArchiveError):
        archive_decode(raw[:-1], materialize=False)


def test_zstd_round_trips_and_refuses_a_cut_or_extended_frame():
    data = bytes(range(256)) * 9000
    packed = crypto.compress(data)
    assert crypto.decompress(packed) == data and len(packed) < len(data) // 10
    with pytest.raises(zstandard.ZstdError):
        crypto.decompress(packed[:-10])
    with pytest.raises(zstandard.ZstdError):
        crypto.decompress(packed + b"\x00")


def test_zlib_streams_of_the_older_formats_still_read_and_a_cut_stream_is_refused():
    data = bytes(range(256)) * 9000  # a little over 2 MiB: three streams, as formats 1 and 2 hold
    packed = b"".join(zlib.compress(data[i : i + 1024 * 1024], 6) for i in range(0, len(data), 1024 * 1024))
    assert crypto.zlib_decompress(packed) == data
    with pytest.raises(zlib.error, match="ends early"):
        crypto.zlib_decompress(packed[:-10])
