"""Fuzzing the session codecs: the env-var codec (``envvars.py``), the archive decoder
(``snapshot.py``) and the stored-bytes opener (``crypto.py``).

Arbitrary strings and bytes, and valid values damaged in every way (bits flipped, cut, parts
swapped, checksums recomputed over the damage, manifests rewritten): each either decodes or raises
the module's own clear error (``EnvValueError``, ``ArchiveError``, ``CryptoError``) with a message,
within the hypothesis deadline. Archives of arbitrary rows round-trip value for value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessions_store import crypto
from sessions_store.envvars import (
    KINDS,
    EnvValueError,
    env_archive,
    env_value_decode,
    env_value_encode,
    parse_env_lines,
)
from sessions_store.snapshot import MAGIC, Archive, ArchiveError, archive_decode, archive_encode
from sessions_store.store import TableData
from sessions_store.whatsmeow_schema import WHATSMEOW_VERSION, schema_columns
from tests.reliability.fuzzing import Outcomes, fuzz_settings

FUZZ = fuzz_settings(150)
OUTCOMES = Outcomes("fuzz_codecs")
JID = "15551234567:12@s.whatsapp.net"


def _archive() -> Archive:
    device = TableData(
        "whatsmeow_device",
        ("jid", "registration_id", "noise_key", "platform", "push_name"),
        ("text", "int", "bytes", "text", "text"),
        [(JID, 123456, b"\x00\x01noise" * 4, "android", "Bot ✓")],
    )
    keys = TableData(
        "whatsmeow_pre_keys",
        ("jid", "key_id", "key", "uploaded"),
        ("text", "int", "bytes", "bool"),
        [(JID, i, bytes([i]) * 32, i % 2 == 0) for i in range(1, 6)],
    )
    salt = TableData("whatsmeow_nct_salt", ("our_jid", "salt"), ("text", "bytes"), [(JID, b"s" * 32)])
    return Archive(tables=[device, keys, salt], device_jid=JID, source_backend="sqlite")


@pytest.fixture(scope="module")
def encoded() -> bytes:
    return archive_encode(_archive())


@pytest.fixture(scope="module")
def valid_values() -> dict[str, str]:
    archive = _archive()
    return {name: env_value_encode(name=name, archive=archive, session_name="fuzz") for name in KINDS}


@pytest.fixture(scope="module", autouse=True)
def _figure():
    yield
    print("\n" + OUTCOMES.line())


def _clear(exc: Exception, target: str = "") -> None:
    if target:
        OUTCOMES.refused(target)
    text = str(exc)
    assert text and len(text) < 600 and "\n" not in text, f"not one clear sentence: {text!r}"


# --------------------------------------------------------------------------- env values


@FUZZ
@given(name=st.sampled_from(sorted(KINDS)), value=st.text(max_size=300))
def test_any_string_in_a_session_env_var_decodes_or_gets_one_clear_sentence(name, value):
    try:
        env_value_decode(name=name, value=value)
    except EnvValueError as exc:
        _clear(exc, "env_value")
        assert name in str(exc)
        return
    OUTCOMES.took("env_value")


def _damage_value(value: str, how: str, data: st.DataObject) -> str:
    prefix, kind, checksum, payload = value.split(".")
    if how == "flip":
        i = data.draw(st.integers(0, len(value) - 1))
        return value[:i] + data.draw(st.sampled_from("A_-.=x0 ")) + value[i + 1 :]
    if how == "cut":
        return value[: data.draw(st.integers(0, len(value) - 1))]
    if how == "kind":
        return ".".join([prefix, data.draw(st.sampled_from(["s", "c", "a", "z", ""])), checksum, payload])
    if how == "whitespace":
        i = data.draw(st.integers(0, len(value)))
        return value[:i] + data.draw(st.sampled_from([" ", "\n", "\t", "\r\n  "])) + value[i:]
    # "reseal": change the stored bytes and recompute the checksum, as a careful forger would
    stored = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    cut = data.draw(st.booleans())
    if cut:
        stored = stored[: data.draw(st.integers(0, len(stored) - 1))]
    else:
        stored[data.draw(st.integers(0, len(stored) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    body = base64.urlsafe_b64encode(bytes(stored)).rstrip(b"=").decode()
    return ".".join([prefix, kind, hashlib.sha256(bytes(stored)).hexdigest()[:16], body])


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(KINDS)), how=st.sampled_from(["flip", "cut", "kind", "reseal"]))
def test_a_damaged_env_value_never_decodes_to_something_else(valid_values, data, name, how):
    value = valid_values[name]
    damaged = _damage_value(value, how, data)
    try:
        archive = env_value_decode(name=name, value=damaged)
    except EnvValueError as exc:
        _clear(exc, "damaged_env_value")
        return
    OUTCOMES.took("damaged_env_value")
    # A change that survives is one the format ignores (the case of a flipped checksum letter is not one).
    assert archive.device_jid == JID and archive.row_counts == env_value_decode(name=name, value=value).row_counts
    assert "".join(damaged.split()) == value or how in {"flip"}


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(KINDS)))
def test_whitespace_pasted_into_a_value_is_ignored(valid_values, data, name):
    damaged = _damage_value(valid_values[name], "whitespace", data)
    assert env_value_decode(name=name, value=damaged).device_jid == JID


@FUZZ
@given(text=st.text(max_size=400))
def test_any_pasted_text_parses_to_session_variables_only(text):
    found = parse_env_lines(text)
    assert set(found) <= set(KINDS) and all(isinstance(v, str) for v in found.values())


@FUZZ
@given(values=st.dictionaries(st.sampled_from(sorted(KINDS)), st.text(max_size=120), max_size=3))
def test_any_set_of_session_variables_imports_or_gets_one_clear_sentence(values):
    try:
        archive, source = env_archive(values)
    except EnvValueError as exc:
        _clear(exc, "env_set")
        return
    OUTCOMES.took("env_set")
    assert source in {"env_session_data", "env_credentials"} and archive.device_jid


# --------------------------------------------------------------------------- stored bytes and archives


@FUZZ
@given(stored=st.binary(max_size=400), with_sum=st.booleans())
def test_any_stored_bytes_open_or_get_one_clear_sentence(stored, with_sum):
    expected = hashlib.sha256(stored).hexdigest() if with_sum else None
    with pytest.raises(crypto.CryptoError) as raised:
        crypto.unpack(stored, expected_sha256=expected)
    _clear(raised.value, "stored_bytes")


@FUZZ
@given(raw=st.binary(max_size=600))
def test_any_bytes_given_to_the_archive_decoder_decode_or_get_one_clear_sentence(raw):
    try:
        archive_decode(raw)
    except ArchiveError as exc:
        _clear(exc, "archive_bytes")
        return
    OUTCOMES.took("archive_bytes")


@FUZZ
@given(manifest=st.one_of(st.text(max_size=200).map(str.encode), st.integers(1, 5000).map(lambda n: b"[" * n)))
def test_any_manifest_text_decodes_or_gets_one_clear_sentence(manifest):
    raw = MAGIC + bytes([1]) + struct.pack(">I", len(manifest)) + manifest
    with pytest.raises(ArchiveError) as raised:
        archive_decode(raw)
    _clear(raised.value, "manifest_text")


@pytest.mark.parametrize(
    ("path", "value"),
    [(("whatsmeow_version",), 5), (("tables", 0, "rows"), 1e400), (("tables", 0, "columns", 1, "size"), 1e400)],
)
def test_a_manifest_number_python_cannot_take_gets_one_clear_sentence(encoded, path, value):
    """Regression: these escaped archive_decode as TypeError/OverflowError (and deep nesting as RecursionError)."""

    def edit(manifest):
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    with pytest.raises(ArchiveError):
        archive_decode(_with_manifest(encoded, edit))
    with pytest.raises(ArchiveError):
        archive_decode(MAGIC + bytes([1]) + struct.pack(">I", 100_000) + b"[" * 100_000)


def _with_manifest(encoded: bytes, edit) -> bytes:
    (manifest_len,) = struct.unpack_from(">I", encoded, 7)
    manifest = json.loads(encoded[11 : 11 + manifest_len])
    edit(manifest)
    body = json.dumps(manifest).encode()
    return encoded[:7] + struct.pack(">I", len(body)) + body + encoded[11 + manifest_len :]


EDGE_VALUES = [5, "ab", 1e400, -1e400, -1, 0, 10**20, [], {}, [1, 2, 3], "", None, True]
json_values = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.recursive(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(-(2**70), 2**70),
            st.floats(allow_nan=False),
            st.text(max_size=20),
        ),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=10,
    ),
)
MANIFEST_PATHS = [
    ("format",),
    ("kind",),
    ("whatsmeow_version",),
    ("device_jid",),
    ("row_counts",),
    ("tables",),
    ("tables", 0),
    ("tables", 0, "rows"),
    ("tables", 0, "name"),
    ("tables", 0, "columns"),
    ("tables", 0, "columns", 1, "size"),
    ("tables", 0, "columns", 1, "type"),
    ("tables", 0, "columns", 1, "nulls"),
    ("tables", 1, "rows"),
    ("tables", 1, "columns", 3, "type"),
]


@FUZZ
@given(value=json_values)
def test_a_rewritten_manifest_decodes_or_gets_one_clear_sentence(encoded, value):
    for path in MANIFEST_PATHS:

        def edit(manifest, path=path):
            target = manifest
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value

        try:
            archive_decode(_with_manifest(encoded, edit))
            OUTCOMES.took("manifest_edit")
        except ArchiveError as exc:
            _clear(exc, "manifest_edit")


@FUZZ
@given(data=st.data())
def test_a_damaged_archive_decodes_or_gets_one_clear_sentence(encoded, data):
    raw = bytearray(encoded)
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if not raw:
            break
        i = data.draw(st.integers(0, len(raw) - 1))
        if how == "flip":
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "cut":
            raw = raw[:i] + raw[i + data.draw(st.integers(1, 16)) :]
        else:
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=16))
    for materialize in (True, False):
        try:
            archive_decode(bytes(raw), materialize=materialize)
            OUTCOMES.took("damaged_archive")
        except ArchiveError as exc:
            _clear(exc, "damaged_archive")


VALUE_BY_TYPE = {
    "int": st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)),
    "bool": st.one_of(st.none(), st.booleans()),
    "float": st.one_of(st.none(), st.floats(allow_nan=True)),
    "text": st.one_of(st.none(), st.text(max_size=30)),
    "bytes": st.one_of(st.none(), st.binary(max_size=40)),
}


SCHEMA = schema_columns(WHATSMEOW_VERSION)


@st.composite
def tables(draw) -> list[TableData]:
    """Tables and columns of the schema (an archive naming others is refused), values of any type."""
    result = []
    for name in draw(st.lists(st.sampled_from(sorted(SCHEMA)), max_size=3, unique=True)):
        columns = tuple(draw(st.lists(st.sampled_from(SCHEMA[name]), min_size=1, max_size=4, unique=True)))
        types = tuple(
            draw(st.lists(st.sampled_from(sorted(VALUE_BY_TYPE)), min_size=len(columns), max_size=len(columns)))
        )
        rows = draw(st.lists(st.tuples(*(VALUE_BY_TYPE[t] for t in types)), max_size=6))
        result.append(TableData(name, columns, types, rows))
    return result


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return type(a) is type(b) and a == b


@FUZZ
@given(tabs=tables(), jid=st.text(max_size=40))
def test_archives_of_arbitrary_rows_round_trip_value_for_value(tabs, jid):
    archive = Archive(tables=tabs, device_jid=jid, created_at="2026-11-28T12:00:00+00:00")
    raw = archive_encode(archive)
    assert raw.startswith(MAGIC)
    back = archive_decode(crypto.unpack(crypto.pack(raw, session_name="fuzz").stored))
    OUTCOMES.took("round_trip")
    assert back.device_jid == jid and back.row_counts == archive.row_counts
    for before, after in zip(archive.tables, back.tables, strict=True):
        assert (after.name, after.columns, after.types) == (before.name, before.columns, before.types)
        for row_before, row_after in zip(before.rows, after.rows, strict=True):
            assert all(_same(x, y) for x, y in zip(row_before, row_after, strict=True)), (row_before, row_after)
