"""The live-store interface every backend implements, its types and errors, and the health check.

Imported by every process that touches a store: the supervisor (restore chain, backups), the bot
child (only for ``store_for(name).dsn``), the web dyno (admin, export) and the django-q2 worker
(scheduled backups). Plain Python only: nothing here loads neonize's Go library or psycopg.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sessions_store.manifest import ManifestError, identifiers_check
from sessions_store.whatsmeow_schema import TABLES, WHATSMEOW_VERSION

HEALTHY, EMPTY, MISSING, CORRUPT = "healthy", "empty", "missing", "corrupt"
TEMP, ASIDE = "temp", "aside"

# Beside whatsmeow's tables, one row saying which generation of the session this store is (see
# ``services/generations.py``). Its name does not start with "whatsmeow": archives leave it out.
GENERATION_TABLE = "blacksky_store_generation"
GENERATION_DDL = f"CREATE TABLE IF NOT EXISTS {GENERATION_TABLE} (generation BIGINT NOT NULL, stamped_at TEXT NOT NULL)"
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")


class StoreError(Exception):
    """A store could not be read or written; the message says why in one sentence."""


@dataclass(frozen=True)
class StoreHealth:
    status: str  # healthy | empty | missing | corrupt
    reason: str = ""
    device_jid: str = ""

    @property
    def healthy(self) -> bool:
        return self.status == HEALTHY


@dataclass(frozen=True)
class TableData:
    """One table's rows as read from a store: column names, logical types and row tuples."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]  # int | text | bytes | bool | float
    rows: Sequence[tuple[Any, ...]]  # a list, or an archive's ColumnRows (built as iterated)


def this_host() -> str:
    return socket.gethostname()


def store_key(name: str) -> str:
    """What a session's live store is named by: PostgreSQL folds an unquoted identifier to lower case
    and takes no dashes, so 'Sales' and 'sales', 'a-b' and 'a_b' are one store. Session names are
    checked against it at creation (``sessions_store.services.session_name_check``), and
    ``WhatsAppSession.store_key`` holds it, unique, so the database refuses a second session on a store."""
    return name.lower().replace("-", "_")


class SessionNameError(StoreError):
    """A name whose live store another session has; the message names that session."""


def session_name_taken_message(name: str, holder: str) -> str:
    """The one sentence for a name whose store is ``holder``'s."""
    return (
        f"Session name {name!r} is taken: it maps to the same WhatsApp store as session {holder!r} "
        "(case and '-' or '_' do not tell stores apart); use that name or another one."
    )


def validate_session_name(name: str) -> str:
    if not _NAME_RE.match(name or ""):
        raise StoreError(f"Session name {name!r} must be 1-48 letters, digits, '-' or '_'.")
    return name


def logical_type(declared: str) -> str:
    """Map a declared column type (SQLite or PostgreSQL) to the archive's backend-neutral type."""
    decl = declared.strip().lower()
    if "bool" in decl:
        return "bool"
    if "int" in decl:
        return "int"
    if "bytea" in decl or "blob" in decl:
        return "bytes"
    if any(word in decl for word in ("real", "double", "float", "numeric")):
        return "float"
    return "text"


@dataclass(frozen=True)
class Leftover:
    """A temporary store a restore left behind, or an old store moved aside (see ``leftovers``)."""

    name: str
    kind: str  # temp | aside
    created: float  # epoch seconds: last write of a temp store, the move of an aside one
    size: int  # bytes
    writer_pid: int | None = None  # the process that wrote a temporary store, when its name says


class LiveStore:
    """A session's live whatsmeow store; ``.dsn`` is what neonize's ``NewClient`` gets."""

    backend: str = ""

    def __init__(self, session_name: str) -> None:
        self.session_name = validate_session_name(session_name)

    @property
    def dsn(self) -> str:
        raise NotImplementedError

    @property
    def location(self) -> str:
        """Where the store is, safe to show and log (no password)."""
        raise NotImplementedError

    def health(self, *, pages: bool = True) -> StoreHealth:
        """Whether the store holds a paired device; ``pages=False`` skips SQLite's page-level check
        (for a store this process has just written, checked and swapped in)."""
        raise NotImplementedError

    def read_tables(self) -> tuple[tuple[int, int] | None, list[TableData]]:
        """A consistent snapshot of every whatsmeow table: (version row, tables)."""
        raise NotImplementedError

    def replace_with(self, tables: list[TableData], *, keep_old: bool, generation: int = 0) -> str:
        """Write ``tables`` (and ``generation``, when not 0) into a fresh store and swap it in atomically.

        The old store (if any) is moved aside when ``keep_old`` (its new location is returned),
        else dropped. Nothing changes when writing the fresh store fails.
        """
        raise NotImplementedError

    def generation_read(self) -> int:
        """The generation recorded in the store; 0 for a store without one (missing, or older code)."""
        raise NotImplementedError

    def generation_write(self, generation: int) -> None:
        raise NotImplementedError

    def leftovers(self) -> list[Leftover]:
        """Temporary and aside stores of this session (whatever their age)."""
        raise NotImplementedError

    def leftover_remove(self, leftover: Leftover) -> None:
        raise NotImplementedError

    def is_local(self) -> bool:
        """Whether this machine holds the store (always true for PostgreSQL)."""
        return True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.session_name} {self.location}>"


def quote_identifier(name: str) -> str:
    """A SQL identifier in double quotes, quotes inside doubled (the same in SQLite and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def tables_check_known(tables: list[TableData]) -> None:
    """Refuse tables or columns that are not whatsmeow's, before a store builds SQL from them.

    Archives are checked when decoded; this keeps any other caller from reaching SQL with a name
    the schema does not have (``StoreError``, nothing written).
    """
    try:
        identifiers_check(WHATSMEOW_VERSION, ((t.name, t.columns) for t in tables))
    except ManifestError as exc:
        raise StoreError(f"{exc} Nothing was written.") from None


def insert_sql(table: TableData, placeholder: str) -> str:
    cols = ", ".join(quote_identifier(c) for c in table.columns)
    marks = ", ".join([placeholder] * len(table.columns))
    return f"INSERT INTO {quote_identifier(table.name)} ({cols}) VALUES ({marks})"


def coerce_rows(table: TableData, target_types: dict[str, str]) -> Iterable[tuple[Any, ...]]:
    """Convert values to what the target column expects (SQLite keeps booleans as 0/1), row by row
    as the caller's ``executemany`` pulls them."""
    wanted = [target_types.get(col, kind) for col, kind in zip(table.columns, table.types, strict=True)]
    if all(w == k for w, k in zip(wanted, table.types, strict=True)):
        return table.rows
    converters = []
    for want, have in zip(wanted, table.types, strict=True):
        if want == have:
            converters.append(None)
        elif want == "bool":
            converters.append(lambda v: None if v is None else bool(v))
        elif want == "int":
            converters.append(lambda v: None if v is None else int(v))
        elif want == "text":
            converters.append(lambda v: None if v is None else str(v))
        else:
            converters.append(None)
    return (
        tuple(v if conv is None else conv(v) for v, conv in zip(row, converters, strict=True)) for row in table.rows
    )


def sorted_table_names(names: list[str]) -> list[str]:
    order = {name: index for index, name in enumerate(TABLES)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def ordered_tables(tables: list[TableData]) -> list[TableData]:
    by_name = {t.name: t for t in tables}
    return [by_name[n] for n in sorted_table_names(list(by_name)) if n in TABLES]


def health_from_tables(names: set[str], query) -> StoreHealth:
    whatsmeow = {n for n in names if n.startswith("whatsmeow_")}
    if not whatsmeow:
        return StoreHealth(EMPTY, "the store has no whatsmeow tables")
    missing = [t for t in TABLES if t not in whatsmeow]
    if missing:
        return StoreHealth(CORRUPT, f"whatsmeow tables missing: {', '.join(missing[:3])}")
    version = query("SELECT version, compat FROM whatsmeow_version")
    if not version:
        return StoreHealth(CORRUPT, "whatsmeow_version has no row")
    rows = query("SELECT jid FROM whatsmeow_device ORDER BY jid LIMIT 1")
    if not rows:
        return StoreHealth(EMPTY, "no device row (never paired, or logged out)")
    return StoreHealth(HEALTHY, "", str(rows[0][0]))
