"""Live store <-> portable archive: a versioned, backend-neutral encoding of every whatsmeow row.

Layout (before compression and encryption, see ``crypto.py``)::

    b"BSKYWA" + u8 format + u32 manifest length + manifest JSON + column blocks

The manifest names each table, its columns with their logical types (int, bool, float, text,
bytes), its row count and the size of each column block; it also carries the whatsmeow schema
version, the device JID and the generation of the store it was taken from (0 when unknown). Columns are stored column-wise (fixed-width integer arrays, length-
prefixed byte/text blobs) so that encoding and parsing a 10 MB store stay cheap in Python, and bytes
come back bit for bit on either backend. Every table and column name of a manifest is checked
against the whatsmeow schema of its version (``manifest.py``) before anything is built from it.
"""

from __future__ import annotations

import hashlib
import json
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from .manifest import ManifestError, identifiers_check, manifest_check
from .store import LiveStore, TableData
from .whatsmeow_schema import WHATSMEOW_VERSION

MAGIC = b"BSKYWA"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">6sBI")

CREDENTIAL_TABLES = ("whatsmeow_device", "whatsmeow_nct_salt")
AUTH_STATE_TABLES = (
    "whatsmeow_app_state_sync_keys",
    "whatsmeow_app_state_version",
    "whatsmeow_app_state_mutation_macs",
)


class ArchiveError(Exception):
    """An archive is malformed or incomplete; the message is one sentence for the operator."""


@dataclass
class Archive:
    """A decoded archive: its manifest and every table's rows."""

    tables: list[TableData]
    whatsmeow_version: tuple[int, int] = WHATSMEOW_VERSION
    device_jid: str = ""
    source_backend: str = ""
    kind: str = "full"  # full | credentials | auth_state
    created_at: str = ""
    store_generation: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def row_counts(self) -> dict[str, int]:
        return {t.name: len(t.rows) for t in self.tables}

    def table(self, name: str) -> TableData | None:
        return next((t for t in self.tables if t.name == name), None)

    def subset(self, names: tuple[str, ...], *, kind: str) -> Archive:
        """The same archive restricted to ``names`` (for the env-var exports)."""
        return Archive(
            tables=[t for t in self.tables if t.name in names],
            whatsmeow_version=self.whatsmeow_version,
            device_jid=self.device_jid,
            source_backend=self.source_backend,
            kind=kind,
            created_at=self.created_at,
            store_generation=self.store_generation,
        )


def archive_from_store(store: LiveStore) -> Archive:
    """Take a consistent snapshot of ``store`` (see ``LiveStore.read_tables``)."""
    # Read first: only a restore changes it, so an archive never claims a newer generation than its rows.
    generation = store.generation_read()
    version, tables = store.read_tables()
    device = next((t for t in tables if t.name == "whatsmeow_device"), None)
    jid = ""
    if device and device.rows:
        jid = str(device.rows[0][device.columns.index("jid")])
    return Archive(
        tables=tables,
        whatsmeow_version=version or WHATSMEOW_VERSION,
        device_jid=jid,
        source_backend=store.backend,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        store_generation=generation,
    )


# --------------------------------------------------------------------------- encode


def _encode_fast(values: Sequence[Any], kind: str) -> bytes | None:
    """The block of a column without NULLs and of the plain Python type, at C speed; ``None`` when
    a value is of another type (the caller's general path then says what it is)."""
    try:
        if kind in ("int", "bool"):
            return array("q", values).tobytes()  # TypeError on None, str or float
        if kind == "bytes":
            data = b"".join(values)  # TypeError on None or str
            lengths = array("q", map(len, values))
            return lengths.tobytes() + data if sum(lengths) == len(data) else None
        if kind == "text":
            joined = "".join(values)  # TypeError on None or a non-str
            data = joined.encode("utf-8", "surrogatepass")
            if len(data) == len(joined):  # ASCII (jids, ids): each value's bytes are its characters
                return array("q", map(len, values)).tobytes() + data
            chunks = [v.encode("utf-8", "surrogatepass") for v in values]
            return array("q", map(len, chunks)).tobytes() + data
    except (TypeError, OverflowError):
        return None
    return None


def _encode_column(values: Sequence[Any], kind: str, where: str) -> tuple[bytes, bool]:
    """One column as bytes; returns (block, has_nulls)."""
    fast = _encode_fast(values, kind)
    if fast is not None:
        return fast, False
    if kind in ("int", "bool"):
        nulls = any(v is None for v in values)
        try:
            data = array("q", [0 if v is None else int(v) for v in values]).tobytes()
        except (OverflowError, ValueError, TypeError) as exc:
            raise ArchiveError(f"{where} holds a value that is not a 64-bit integer ({exc}).") from None
        if nulls:
            return bytes(1 if v is None else 0 for v in values) + data, True
        return data, False
    if kind == "float":
        nulls = any(v is None for v in values)
        data = array("d", [0.0 if v is None else float(v) for v in values]).tobytes()
        if nulls:
            return bytes(1 if v is None else 0 for v in values) + data, True
        return data, False
    # text / bytes: lengths (-1 = NULL) then the concatenated values
    chunks: list[bytes] = []
    for v in values:
        if v is None or isinstance(v, bytes):
            chunks.append(v)
        elif isinstance(v, str):
            chunks.append(v.encode("utf-8", "surrogatepass"))
        elif isinstance(v, (memoryview, bytearray)):
            chunks.append(bytes(v))
        else:
            chunks.append(str(v).encode())
    lengths = array("q", [-1 if c is None else len(c) for c in chunks])
    return lengths.tobytes() + b"".join(c for c in chunks if c), -1 in lengths


def archive_encode(archive: Archive) -> bytes:
    """The archive as bytes (uncompressed, unencrypted)."""
    blocks: list[bytes] = []
    tables_meta = []
    for table in archive.tables:
        columns_meta = []
        columns = list(zip(*table.rows, strict=True)) if table.rows else [()] * len(table.columns)
        for name, kind, values in zip(table.columns, table.types, columns, strict=True):
            block, nulls = _encode_column(values, kind, f"{table.name}.{name}")
            blocks.append(block)
            columns_meta.append({"name": name, "type": kind, "nulls": nulls, "size": len(block)})
        tables_meta.append({"name": table.name, "rows": len(table.rows), "columns": columns_meta})
    manifest = {
        "format": FORMAT_VERSION,
        "kind": archive.kind,
        "whatsmeow_version": list(archive.whatsmeow_version),
        "device_jid": archive.device_jid,
        "source_backend": archive.source_backend,
        "created_at": archive.created_at,
        "store_generation": archive.store_generation,
        "row_counts": archive.row_counts,
        "tables": tables_meta,
    }
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode()
    return b"".join([_HEADER.pack(MAGIC, FORMAT_VERSION, len(manifest_bytes)), manifest_bytes, *blocks])


# --------------------------------------------------------------------------- decode


class ColumnRows(Sequence[tuple[Any, ...]]):
    """A decoded table's rows, zipped from its columns one row at a time as they are iterated.

    A restore streams them into the new store, so the decoded archive is held once (its bytes) and
    never again as a list of row tuples. Indexing builds the list once (small tables: the device).
    """

    def __init__(self, count: int, columns: list[Callable[[], Iterable[Any]]]) -> None:
        self._count, self._columns = count, columns
        self._built: list[tuple[Any, ...]] | None = None

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        if self._built is not None:
            return iter(self._built)
        return zip(*(make() for make in self._columns), strict=True) if self._count else iter(())

    def __getitem__(self, index):  # type: ignore[override]
        if self._built is None:
            self._built = list(self)
        return self._built[index]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def _decode_column(
    block: memoryview, kind: str, nulls: bool, rows: int, where: str, materialize: bool
) -> Callable[[], Iterable[Any]]:
    """Check one column's structure (sizes, lengths; with ``materialize`` text is decoded here, the
    only step that could fail later) and return what yields its values when the rows are iterated."""
    if kind in ("int", "bool", "float"):
        mask = bytes(block[:rows]) if nulls else b""
        data = block[rows:] if nulls else block
        if len(data) != 8 * rows:
            raise ArchiveError(f"The archive's column {where} has the wrong size.")

        def numbers() -> Iterable[Any]:
            numbers_array = array("q" if kind != "float" else "d")
            numbers_array.frombytes(data)
            values: Iterable[Any] = numbers_array.tolist()
            if kind == "bool":
                values = map(bool, values)
            if nulls:
                return (None if m else v for v, m in zip(values, mask, strict=True))
            return values

        return numbers
    if len(block) < 8 * rows:
        raise ArchiveError(f"The archive's column {where} is truncated.")
    lengths = array("q")
    lengths.frombytes(block[: 8 * rows])
    blob_size = len(block) - 8 * rows
    has_nulls = rows > 0 and min(lengths) < 0
    total = sum(n for n in lengths if n > 0) if has_nulls else sum(lengths)
    if total != blob_size:
        raise ArchiveError(f"The archive's column {where} has the wrong size.")

    def values(blob: bytes | str | None = None) -> Iterable[Any]:
        blob = bytes(block[8 * rows :]) if blob is None else blob
        if not has_nulls:  # slices made in C (map of slice objects), no Python frame per value
            ends = list(accumulate(lengths))
            return map(blob.__getitem__, map(slice, [0, *ends[:-1]], ends))
        ends = accumulate(max(n, 0) for n in lengths)
        return (None if n < 0 else blob[e - n : e] for n, e in zip(lengths, ends, strict=True))

    if kind != "text" or not materialize:
        return values
    try:
        text = str(block[8 * rows :], "utf-8", "surrogatepass")
    except UnicodeDecodeError:
        text = ""
    if len(text) == blob_size:  # ASCII (jids, ids): byte offsets are character offsets
        return lambda: values(text)
    texts = [None if v is None else v.decode("utf-8", "surrogatepass") for v in values()]
    return lambda: texts


def archive_decode(raw: bytes, *, materialize: bool = True) -> Archive:
    """Parse bytes from :func:`archive_encode` back; any inconsistency raises ``ArchiveError``.

    ``materialize=False`` checks every table and column but builds no rows (the tables come back
    empty): what a backup uses to verify its own bytes before they become visible. Otherwise each
    table's rows are a :class:`ColumnRows`, built from ``raw`` as they are read.
    """
    if len(raw) < _HEADER.size:
        raise ArchiveError("The archive is truncated (no header).")
    magic, version, manifest_len = _HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise ArchiveError("This is not a BLACKSKY-MD session archive.")
    if version != FORMAT_VERSION:
        raise ArchiveError(f"The archive has format version {version}; this version reads {FORMAT_VERSION}.")
    start = _HEADER.size
    try:
        manifest = json.loads(raw[start : start + manifest_len])
    except (ValueError, RecursionError):
        raise ArchiveError("The archive's manifest is unreadable.") from None
    try:
        # Every name is checked against the schema before anything is built from it (SQL included).
        version = manifest_check(manifest)
    except ManifestError as exc:
        raise ArchiveError(str(exc)) from None
    tables_meta = manifest["tables"]
    view = memoryview(raw)
    offset = start + manifest_len
    tables = []
    try:
        for meta in tables_meta:
            rows = int(meta["rows"])
            columns = []
            for col in meta["columns"]:
                size = int(col["size"])
                if offset + size > len(raw):
                    raise ArchiveError(f"The archive is truncated inside table {meta['name']}.")
                where = f"{meta['name']}.{col['name']}"
                block = view[offset : offset + size]
                columns.append(_decode_column(block, col["type"], col["nulls"], rows, where, materialize))
                offset += size
            if rows and not columns:
                raise ArchiveError(f"The archive's table {meta['name']} has rows but no columns.")
            table_rows: Sequence[tuple[Any, ...]] = ColumnRows(rows, columns) if materialize else []
            tables.append(
                TableData(
                    name=str(meta["name"]),
                    columns=tuple(c["name"] for c in meta["columns"]),
                    types=tuple(c["type"] for c in meta["columns"]),
                    rows=table_rows,
                )
            )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:  # OverflowError: int(1e400)
        raise ArchiveError(f"The archive's manifest does not match its data ({exc}).") from None
    if offset != len(raw):
        raise ArchiveError("The archive has trailing bytes after its last table.")
    archive = Archive(
        tables=tables,
        whatsmeow_version=version,
        device_jid=str(manifest.get("device_jid", "")),
        source_backend=str(manifest.get("source_backend", "")),
        kind=str(manifest.get("kind", "full")),
        created_at=str(manifest.get("created_at", "")),
    )
    try:
        archive.store_generation = int(manifest.get("store_generation") or 0)
    except (TypeError, ValueError):
        raise ArchiveError("The archive's store generation is not a number.") from None
    declared = {str(meta["name"]): int(meta["rows"]) for meta in tables_meta}
    archive.extra["row_counts"] = declared
    if materialize and archive.row_counts != declared:
        raise ArchiveError("The archive's row counts do not match its tables.")
    if declared != manifest.get("row_counts", declared):
        raise ArchiveError("The archive's row counts do not match its manifest.")
    return archive


def archive_content_digest(raw: bytes) -> str:
    """SHA-256 of what an encoded archive holds, leaving out when it was taken and its generation."""
    _, _, manifest_len = _HEADER.unpack_from(raw)
    manifest = json.loads(raw[_HEADER.size : _HEADER.size + manifest_len])
    manifest.pop("created_at", None)
    manifest.pop("store_generation", None)
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode())
    digest.update(memoryview(raw)[_HEADER.size + manifest_len :])
    return digest.hexdigest()


def archive_check_restorable(archive: Archive) -> None:
    """Raise ``ArchiveError`` unless the archive holds a device this project's schema can take."""
    if tuple(archive.whatsmeow_version) != WHATSMEOW_VERSION:
        raise ArchiveError(
            f"The archive is of whatsmeow schema {tuple(archive.whatsmeow_version)}, "
            f"but this neonize uses {WHATSMEOW_VERSION}."
        )
    device = archive.table("whatsmeow_device")
    if device is None or not device.rows:
        raise ArchiveError("The archive holds no device (the session was not paired when it was taken).")
    try:
        identifiers_check(WHATSMEOW_VERSION, ((t.name, t.columns) for t in archive.tables))
    except ManifestError as exc:
        raise ArchiveError(str(exc)) from None


def archive_merge(*archives: Archive) -> Archive:
    """Combine partial archives (credentials + auth state) into one to restore."""
    tables: dict[str, TableData] = {}
    for part in archives:
        for table in part.tables:
            tables.setdefault(table.name, table)
    first = archives[0]
    return Archive(
        tables=list(tables.values()),
        whatsmeow_version=first.whatsmeow_version,
        device_jid=first.device_jid,
        source_backend=first.source_backend,
        kind="merged",
        created_at=first.created_at,
        store_generation=first.store_generation,
    )


def archive_with_version_row(archive: Archive) -> list[TableData]:
    """The archive's tables, with the whatsmeow_version row neonize expects added when absent."""
    tables = [t for t in archive.tables if t.name != "whatsmeow_version"]
    version = archive.table("whatsmeow_version")
    if version is None or not version.rows:
        version = TableData("whatsmeow_version", ("version", "compat"), ("int", "int"), [archive.whatsmeow_version])
    return [version, *tables]
