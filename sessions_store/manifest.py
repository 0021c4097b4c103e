"""What an archive's manifest may name, checked against the known whatsmeow schema before any SQL is built.

Imported by ``snapshot.py`` (every archive decoded, in every process that opens one) and by
``store/`` (a backstop before a restored store is written). A manifest's table and column names
become identifiers in the ``INSERT`` statements of a restore; only the names of the tables and
columns of the manifest's whatsmeow schema version pass, so a hostile or mistaken name refuses the
whole archive instead of reaching SQL, quoted or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .whatsmeow_schema import WHATSMEOW_VERSION, schema_columns

KINDS = frozenset({"int", "bool", "float", "text", "bytes"})
_SHOWN = 60


class ManifestError(Exception):
    """A manifest is malformed or names what the schema has not; the message is one sentence."""


def _shown(value: object) -> str:
    """A name as an operator may safely read it: ASCII, escaped, cut short."""
    text = ascii(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _is_int(value: object) -> bool:
    return type(value) is int


def manifest_version(manifest: Mapping[str, Any]) -> tuple[int, int]:
    """The manifest's whatsmeow version (the current one when absent); refused unless known."""
    raw = manifest.get("whatsmeow_version") or list(WHATSMEOW_VERSION)
    if not (isinstance(raw, list) and len(raw) == 2 and all(_is_int(v) for v in raw)):
        raise ManifestError("The archive's manifest is unreadable (its whatsmeow version is not two integers).")
    version = (raw[0], raw[1])
    if schema_columns(version) is None:
        raise ManifestError(
            f"The archive is of whatsmeow schema {version}, which this version does not know "
            f"(it knows {WHATSMEOW_VERSION}); it is refused."
        )
    return version


def identifiers_check(version: tuple[int, int], tables: Iterable[tuple[object, Iterable[object]]]) -> None:
    """Refuse any (table, columns) pair that is not a table of schema ``version`` with columns of it,
    or that names a table or a column twice."""
    known = schema_columns(version)
    if known is None:
        raise ManifestError(f"The archive is of whatsmeow schema {version}, which this version does not know.")
    seen: set[str] = set()
    for table, columns in tables:
        if not isinstance(table, str) or table not in known:
            raise ManifestError(
                f"The archive names a table {_shown(table)} that whatsmeow schema {version} does not have; "
                "it is refused."
            )
        if table in seen:
            raise ManifestError(f"The archive names table {table} twice; it is refused.")
        seen.add(table)
        names: set[str] = set()
        for column in columns:
            if not isinstance(column, str) or column not in known[table]:
                raise ManifestError(
                    f"The archive names a column {_shown(column)} that table {table} of whatsmeow schema {version} "
                    "does not have; it is refused."
                )
            if column in names:
                raise ManifestError(f"The archive names column {table}.{column} twice; it is refused.")
            names.add(column)


def _column_check(table: str, column: object) -> str:
    if not isinstance(column, Mapping):
        raise ManifestError(f"The archive's manifest lists a column of table {table} that is not an object.")
    name = column.get("name")
    kind, nulls, size = column.get("type"), column.get("nulls"), column.get("size")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ManifestError(f"The archive's column {table}.{_shown(name)} has an unknown type {_shown(kind)}.")
    if type(nulls) is not bool or not _is_int(size) or size < 0:
        raise ManifestError(f"The archive's column {table}.{_shown(name)} has a malformed size or null flag.")
    return name


def manifest_check(manifest: object) -> tuple[int, int]:
    """Refuse a manifest unless it is shaped as ``archive_encode`` writes it and every table and
    column it names is one of its schema version's; returns that version."""
    if not isinstance(manifest, Mapping):
        raise ManifestError("The archive's manifest is unreadable (not an object).")
    version = manifest_version(manifest)
    tables = manifest.get("tables")
    if not isinstance(tables, list):
        raise ManifestError("The archive's manifest is unreadable (no list of tables).")
    names: list[tuple[object, list[object]]] = []
    for meta in tables:
        if not isinstance(meta, Mapping):
            raise ManifestError("The archive's manifest lists a table that is not an object.")
        columns = meta.get("columns")
        if not isinstance(columns, list):
            raise ManifestError(f"The archive's table {_shown(meta.get('name'))} has no list of columns.")
        names.append((meta.get("name"), [c.get("name") if isinstance(c, Mapping) else c for c in columns]))
    identifiers_check(version, names)  # the names first: a hostile one is named as such
    for meta in tables:
        rows = meta.get("rows")
        if not _is_int(rows) or rows < 0:
            raise ManifestError(f"The archive's table {meta['name']} has a malformed row count.")
        for column in meta["columns"]:
            _column_check(meta["name"], column)
    return version
