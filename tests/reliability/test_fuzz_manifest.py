"""Fuzzing the manifest check (``sessions_store/manifest.py``) with arbitrary identifiers.

A manifest's table and column names become SQL identifiers in a restore. For any name (arbitrary
text, SQL fragments, near misses of real names, values that are not strings) the check accepts
exactly the tables and columns of the manifest's whatsmeow schema and refuses everything else with
one clear sentence (``ManifestError``, ``ArchiveError`` through the decoder, ``StoreError`` from a
store's backstop); arbitrary manifest structures never escape as another exception.
"""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessions_store.manifest import ManifestError, identifiers_check, manifest_check
from sessions_store.snapshot import Archive, ArchiveError, archive_decode, archive_encode
from sessions_store.store import StoreError, TableData
from sessions_store.store.base import tables_check_known
from sessions_store.whatsmeow_schema import WHATSMEOW_VERSION, schema_columns
from tests.reliability.fuzzing import Outcomes, fuzz_settings

FUZZ = fuzz_settings(400)
OUTCOMES = Outcomes("fuzz_manifest")
SCHEMA = schema_columns(WHATSMEOW_VERSION)
ALL_COLUMNS = sorted({c for columns in SCHEMA.values() for c in columns})

SQL_FRAGMENTS = [
    'messages"; DROP TABLE x; --',
    'whatsmeow_device"; DROP TABLE x; --',
    'jid") VALUES (1); DROP TABLE x; --',
    '"whatsmeow_device"',
    "public.whatsmeow_device",
    "whatsmeow_device\x00",
    "whatsmeow_device ",
    " jid",
    "jid\u200b",
    "WHATSMEOW_DEVICE",
    "JID",
    "whatsmeow_version",  # a real table: only with its own columns
    "blacksky_store_generation",  # beside whatsmeow's tables in a store, never in an archive
    "",
]


def _near_misses(names: list[str]) -> st.SearchStrategy[str]:
    """Real names changed a little: a suffix, a prefix, a case change, a quote."""
    real = st.sampled_from(names)
    return st.one_of(
        st.tuples(real, st.text(min_size=1, max_size=12)).map(lambda p: p[0] + p[1]),
        st.tuples(st.text(min_size=1, max_size=12), real).map(lambda p: p[0] + p[1]),
        real.map(str.upper),
        real.map(lambda n: n.replace("_", "-")),
        real.map(lambda n: f'{n}"'),
    )


def identifiers(names: list[str]) -> st.SearchStrategy[object]:
    return st.one_of(
        st.sampled_from(names),
        st.sampled_from(SQL_FRAGMENTS),
        _near_misses(names),
        st.text(max_size=80),
        st.one_of(st.none(), st.integers(), st.booleans(), st.lists(st.text(max_size=5), max_size=2)),
    )


def _is_known(table: object, columns: list[object]) -> bool:
    return (
        isinstance(table, str)
        and table in SCHEMA
        and all(isinstance(c, str) and c in SCHEMA[table] for c in columns)
        and len(set(map(repr, columns))) == len(columns)
    )


def _clear(exc: Exception, target: str) -> None:
    OUTCOMES.refused(target)
    text = str(exc)
    assert text and len(text) < 600 and "\n" not in text and text.isascii(), f"not one clear sentence: {text!r}"


def _manifest(table: object, columns: list[object]) -> dict:
    return {
        "format": 1,
        "whatsmeow_version": list(WHATSMEOW_VERSION),
        "tables": [
            {
                "name": table,
                "rows": 0,
                "columns": [{"name": c, "type": "text", "nulls": False, "size": 0} for c in columns],
            }
        ],
    }


@st.composite
def table_and_columns(draw) -> tuple[object, list[object]]:
    """About a third all real names; the rest with one arbitrary identifier (or more) among them."""
    real = draw(st.sampled_from(["table", "table", "any"])) == "table"
    table = draw(st.sampled_from(sorted(SCHEMA)) if real else identifiers(sorted(SCHEMA)))
    pool = list(SCHEMA[table]) if isinstance(table, str) and table in SCHEMA else ALL_COLUMNS
    columns: list[object] = list(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True)))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        columns[draw(st.integers(0, len(columns) - 1))] = draw(identifiers(pool))
    return table, columns


@FUZZ
@given(pair=table_and_columns())
def test_the_manifest_check_accepts_exactly_the_schemas_tables_and_columns(pair):
    table, columns = pair
    try:
        assert manifest_check(_manifest(table, columns)) == WHATSMEOW_VERSION
    except ManifestError as exc:
        _clear(exc, "identifier")
        assert not _is_known(table, columns), f"a name of the schema was refused: {exc}"
        return
    OUTCOMES.took("identifier")
    assert _is_known(table, columns), f"accepted a name the schema has not: {table!r} {columns!r}"


@FUZZ
@given(pair=table_and_columns())
def test_the_store_backstop_refuses_the_same_names_before_any_sql(pair):
    table, columns = pair
    if not all(isinstance(n, str) for n in (table, *columns)):
        return  # a TableData holds strings; the manifest check covers the rest
    data = TableData(table, tuple(columns), ("text",) * len(columns), [])
    try:
        tables_check_known([data])
    except StoreError as exc:
        _clear(exc, "store_backstop")
        assert not _is_known(table, columns)
        return
    OUTCOMES.took("store_backstop")
    assert _is_known(table, columns)


@pytest.fixture(scope="module")
def encoded() -> bytes:
    device = TableData("whatsmeow_device", ("jid", "push_name"), ("text", "text"), [("a@s", "Bot")])
    return archive_encode(Archive(tables=[device], device_jid="a@s"))


def _with(encoded: bytes, edit) -> bytes:
    (length,) = struct.unpack_from(">I", encoded, 7)
    manifest = json.loads(encoded[11 : 11 + length])
    edit(manifest)
    body = json.dumps(manifest).encode()
    return encoded[:7] + struct.pack(">I", len(body)) + body + encoded[11 + length :]


WITH_JID = sorted(name for name, columns in SCHEMA.items() if "jid" in columns)


@st.composite
def renamed(draw) -> tuple[object, object]:
    real = draw(st.sampled_from(["both", "both", "table", "any"]))
    table = draw(st.sampled_from(WITH_JID) if real != "any" else identifiers(sorted(SCHEMA)))
    pool = [c for c in SCHEMA.get(table, ()) if c != "jid"] if isinstance(table, str) else []
    column = draw(st.sampled_from(pool) if real == "both" else identifiers(pool or ALL_COLUMNS))
    return table, column


@FUZZ
@given(pair=renamed())
def test_an_encoded_archive_with_any_renamed_identifier_decodes_only_when_the_name_is_the_schemas(encoded, pair):
    table, column = pair

    def edit(manifest):
        manifest["tables"][0]["name"] = table
        manifest["tables"][0]["columns"][1]["name"] = column
        manifest["row_counts"] = {str(table): 1}

    try:
        back = archive_decode(_with(encoded, edit))
    except ArchiveError as exc:
        _clear(exc, "decoded_archive")
        assert not _is_known(table, ["jid", column])
        return
    OUTCOMES.took("decoded_archive")
    assert _is_known(table, ["jid", column]) and back.tables[0].columns == ("jid", column)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


@FUZZ
@given(
    manifest=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"whatsmeow_version": json_values, "tables": st.lists(json_values, max_size=3)},
        ),
        st.fixed_dictionaries(
            {
                "tables": st.lists(
                    st.fixed_dictionaries(
                        {"name": identifiers(sorted(SCHEMA)), "rows": json_values, "columns": json_values}
                    ),
                    max_size=3,
                )
            }
        ),
    )
)
def test_any_manifest_structure_is_accepted_or_refused_with_one_sentence(manifest):
    try:
        manifest_check(manifest)
    except ManifestError as exc:
        _clear(exc, "structure")
        return
    OUTCOMES.took("structure")
    tables = manifest["tables"]
    identifiers_check(WHATSMEOW_VERSION, ((t["name"], [c["name"] for c in t["columns"]]) for t in tables))


@pytest.fixture(scope="module", autouse=True)
def _figure():
    yield
    print("\n" + OUTCOMES.line())
