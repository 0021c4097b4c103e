"""Where a session's live whatsmeow store is, and plain-SQL access to it.

neonize takes the store as the first argument of ``NewClient(dsn, uuid=session_name)``. With a
PostgreSQL ``DATABASE_URL`` each session gets its own schema ``wa_<name>`` of that database (never
``public``, never beside the Django tables); otherwise a SQLite file ``$WA_STORE_DIR/<name>.sqlite3``
in WAL mode. This module reads and writes those stores with sqlite3/psycopg only: the supervisor
uses it and must never load neonize's Go library.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import socket
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

from blacksky_site.tempfiles import describe_disk_error, is_disk_full

from .whatsmeow_schema import DDL, TABLES, WHATSMEOW_VERSION

logger = logging.getLogger(__name__)

HEALTHY, EMPTY, MISSING, CORRUPT = "healthy", "empty", "missing", "corrupt"
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,48}$")
_SQLITE_PARAMS = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_x="


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
    rows: list[tuple[Any, ...]]


def this_host() -> str:
    return socket.gethostname()


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

    def health(self) -> StoreHealth:
        raise NotImplementedError

    def read_tables(self) -> tuple[tuple[int, int] | None, list[TableData]]:
        """A consistent snapshot of every whatsmeow table: (version row, tables)."""
        raise NotImplementedError

    def replace_with(self, tables: list[TableData], *, keep_old: bool) -> str:
        """Write ``tables`` into a fresh store and swap it in atomically.

        The old store (if any) is moved aside when ``keep_old`` (its new location is returned),
        else dropped. Nothing changes when writing the fresh store fails.
        """
        raise NotImplementedError

    def is_local(self) -> bool:
        """Whether this machine holds the store (always true for PostgreSQL)."""
        return True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.session_name} {self.location}>"


def _insert_sql(table: TableData, placeholder: str) -> str:
    cols = ", ".join(f'"{c}"' for c in table.columns)
    marks = ", ".join([placeholder] * len(table.columns))
    return f'INSERT INTO "{table.name}" ({cols}) VALUES ({marks})'


def _coerce_rows(table: TableData, target_types: dict[str, str]) -> list[tuple[Any, ...]]:
    """Convert values to what the target column expects (SQLite keeps booleans as 0/1)."""
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
    return [
        tuple(v if conv is None else conv(v) for v, conv in zip(row, converters, strict=True)) for row in table.rows
    ]


# --------------------------------------------------------------------------- SQLite


class SqliteStore(LiveStore):
    backend = "sqlite"

    def __init__(self, session_name: str, directory: Path | None = None) -> None:
        super().__init__(session_name)
        self.directory = Path(directory or settings.WA_STORE_DIR).resolve()
        self.path = self.directory / f"{self.session_name}.sqlite3"

    @property
    def dsn(self) -> str:
        # neonize appends "?_foreign_keys=on"; the trailing "_x=" swallows it (notes section 1).
        self.directory.mkdir(parents=True, exist_ok=True)
        return f"{self.path}?{_SQLITE_PARAMS}"

    @property
    def location(self) -> str:
        return str(self.path)

    def is_local(self) -> bool:
        return self.path.exists()

    def _connect(self, path: Path | None = None, *, create: bool = False) -> sqlite3.Connection:
        target = path or self.path
        mode = "rwc" if create else "rw"
        conn = sqlite3.connect(f"file:{target}?mode={mode}", uri=True, timeout=10, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    def health(self) -> StoreHealth:
        if not self.path.exists():
            return StoreHealth(MISSING, f"no SQLite store at {self.path}")
        if self.path.stat().st_size == 0 and not Path(f"{self.path}-wal").exists():
            return StoreHealth(EMPTY, "the SQLite store file is empty")
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            return StoreHealth(CORRUPT, f"cannot open the SQLite store: {exc}")
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if not check or check[0] != "ok":
                return StoreHealth(CORRUPT, f"integrity check failed: {check[0] if check else 'no answer'}")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return _health_from_tables(names, lambda sql: conn.execute(sql).fetchall())
        except sqlite3.DatabaseError as exc:
            return StoreHealth(CORRUPT, f"the SQLite store is unreadable: {exc}")
        finally:
            conn.close()

    def read_tables(self) -> tuple[tuple[int, int] | None, list[TableData]]:
        if not self.path.exists():
            raise StoreError(f"No SQLite store at {self.path}.")
        try:
            source = self._connect()
            snapshot = sqlite3.connect(":memory:")
            try:
                # The online backup API copies a consistent image even while neonize writes (WAL).
                source.backup(snapshot)
            finally:
                source.close()
            try:
                return _read_sqlite_tables(snapshot)
            finally:
                snapshot.close()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot snapshot the SQLite store {self.path}: {exc}") from exc

    def replace_with(self, tables: list[TableData], *, keep_old: bool) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        temp = self.directory / f".{self.session_name}.restore-{secrets.token_hex(4)}.sqlite3"
        try:
            conn = self._connect(temp, create=True)
            try:
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("BEGIN")
                for statement in DDL:
                    conn.execute(statement)
                types = _sqlite_column_types(conn)
                for table in _ordered(tables):
                    if table.rows:
                        conn.executemany(_insert_sql(table, "?"), _coerce_rows(table, types[table.name]))
                conn.execute("COMMIT")
                check = conn.execute("PRAGMA quick_check").fetchone()
                if check[0] != "ok":
                    raise StoreError(f"The restored store failed its integrity check: {check[0]}.")
            finally:
                conn.close()
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            aside = ""
            if self.path.exists() and keep_old:
                aside = str(self.directory / f"{self.session_name}.sqlite3.aside-{time.strftime('%Y%m%d%H%M%S')}")
                os.replace(self.path, aside)
            for suffix in ("-wal", "-shm", "-journal"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    if aside:
                        os.replace(side, f"{aside}{suffix}")
                    else:
                        side.unlink()
            os.replace(temp, self.path)
            _fsync_dir(self.directory)
            return aside
        except (sqlite3.Error, OSError) as exc:
            if is_disk_full(exc):
                fields = describe_disk_error(exc, self.directory)
                logger.error("disk full writing the restored store", extra={"session": self.session_name, **fields})
                raise StoreError(
                    f"No space left on the disk of {self.directory} while writing the restored store "
                    f"({fields['free_bytes']} bytes free); the live store was not changed."
                ) from exc
            if isinstance(exc, OSError):
                raise
            raise StoreError(f"Cannot write the restored SQLite store: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def wipe(self) -> None:
        """Delete the store file and its WAL companions (tests and re-pairing)."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_column_types(conn: sqlite3.Connection) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for name in TABLES:
        result[name] = {row[1]: logical_type(row[2]) for row in conn.execute(f'PRAGMA table_info("{name}")')}
    return result


def _read_sqlite_tables(conn: sqlite3.Connection) -> tuple[tuple[int, int] | None, list[TableData]]:
    names = [
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'whatsmeow%'")
    ]
    tables = []
    version = None
    for name in _sorted_names(names):
        info = list(conn.execute(f'PRAGMA table_info("{name}")'))
        columns = tuple(row[1] for row in info)
        types = tuple(logical_type(row[2]) for row in info)
        rows = conn.execute(f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} FROM "{name}"').fetchall()
        bools = [i for i, kind in enumerate(types) if kind == "bool"]
        if bools and rows:
            # SQLite keeps booleans as 0/1; the archive's rows carry Python bools on every backend.
            rows = [tuple(bool(v) if i in bools and v is not None else v for i, v in enumerate(r)) for r in rows]
        if name == "whatsmeow_version" and rows:
            version = (int(rows[0][0]), int(rows[0][1]))
        tables.append(TableData(name, columns, types, rows))
    return version, tables


def _sorted_names(names: list[str]) -> list[str]:
    order = {name: index for index, name in enumerate(TABLES)}
    return sorted(names, key=lambda n: (order.get(n, len(order)), n))


def _ordered(tables: list[TableData]) -> list[TableData]:
    by_name = {t.name: t for t in tables}
    return [by_name[n] for n in _sorted_names(list(by_name)) if n in TABLES]


def _health_from_tables(names: set[str], query) -> StoreHealth:
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


# --------------------------------------------------------------------------- PostgreSQL


# pg_catalog rather than information_schema: the latter gets slow with many schemas in a database.
_PG_TABLES = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')"
)
_PG_COLUMNS = (
    "SELECT c.relname AS table_name, a.attname AS column_name, format_type(a.atttypid, NULL) AS data_type "
    "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY c.relname, a.attnum"
)


def _pg_params() -> dict[str, Any]:
    db = settings.DATABASES["default"]
    options = db.get("OPTIONS", {}) or {}
    params: dict[str, Any] = {
        "dbname": db.get("NAME") or "",
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    if options.get("sslmode"):
        params["sslmode"] = options["sslmode"]
    return {k: v for k, v in params.items() if v}


def pg_connect(**extra: Any):
    """A new psycopg connection to the project database (not Django's: snapshots need their own)."""
    import psycopg

    return psycopg.connect(**{**_pg_params(), "connect_timeout": 10, **extra})


class PostgresStore(LiveStore):
    backend = "postgres"

    @property
    def schema(self) -> str:
        # search_path in a lib/pq DSN is parsed as an unquoted identifier: lower case, no dashes.
        return "wa_" + self.session_name.lower().replace("-", "_")

    @property
    def dsn(self) -> str:
        """The lib/pq URL neonize gets; the schema is created first so whatsmeow never lands in public."""
        self.ensure_schema()
        return self.dsn_for_schema()

    def dsn_for_schema(self) -> str:
        params = _pg_params()
        host = params.get("host", "")
        sslmode = params.get("sslmode") or ("disable" if host in {"", "localhost", "127.0.0.1", "::1"} else "require")
        auth = quote(params.get("user", ""), safe="")
        if params.get("password"):
            auth += ":" + quote(params["password"], safe="")
        netloc = f"{auth}@" if auth else ""
        netloc += host if not host.startswith("/") else ""
        if params.get("port"):
            netloc += f":{params['port']}"
        query = f"sslmode={sslmode}&search_path={self.schema}"
        if host.startswith("/"):
            query += f"&host={quote(host, safe='')}"
        return f"postgres://{netloc}/{quote(params.get('dbname', ''), safe='')}?{query}"

    @property
    def location(self) -> str:
        params = _pg_params()
        return f"postgres {params.get('host', 'local')}/{params.get('dbname', '')} schema {self.schema}"

    def ensure_schema(self) -> None:
        """Create the schema with whatsmeow's tables and version row, so neonize finds a store.

        whatsmeow's first-run check looks for ``whatsmeow_version`` in *any* schema of the
        database (information_schema without a schema filter): once one session's schema exists,
        neonize cannot create a second one itself ("relation whatsmeow_version does not exist").
        So the tables are created here, from the DDL checked against neonize's own.
        """
        import psycopg
        from psycopg import sql

        with pg_connect() as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            present = conn.execute(
                _PG_TABLES + " AND c.relname = 'whatsmeow_version'",
                [self.schema],
            ).fetchone()
            if present:
                return
            conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(self.schema)))
            try:
                for statement in DDL:
                    conn.execute(statement)
                conn.execute("INSERT INTO whatsmeow_version (version, compat) VALUES (%s, %s)", WHATSMEOW_VERSION)
            except psycopg.errors.DuplicateTable:
                conn.rollback()  # another process initialised it at the same moment

    def health(self) -> StoreHealth:
        import psycopg
        from psycopg import sql

        try:
            with pg_connect(autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema]).fetchone()
                if not found:
                    return StoreHealth(MISSING, f"no schema {self.schema}")
                names = {r[0] for r in conn.execute(_PG_TABLES, [self.schema])}
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
                return _health_from_tables(names, lambda q: conn.execute(q).fetchall())
        except psycopg.OperationalError as exc:
            raise StoreError(f"Cannot reach PostgreSQL to check the store: {exc}") from exc
        except psycopg.Error as exc:
            return StoreHealth(CORRUPT, f"the store schema is unreadable: {exc}".splitlines()[0])

    def read_tables(self) -> tuple[tuple[int, int] | None, list[TableData]]:
        import psycopg

        try:
            with pg_connect() as conn:
                # One REPEATABLE READ transaction: every table as of the same instant.
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                return self._read(conn, self.schema)
        except psycopg.Error as exc:
            raise StoreError(f"Cannot snapshot the store schema {self.schema}: {exc}".splitlines()[0]) from exc

    @staticmethod
    def _column_types(conn, schema: str) -> dict[str, list[tuple[str, str]]]:
        result: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type in conn.execute(
            _PG_COLUMNS,
            [schema],
        ):
            result.setdefault(table, []).append((column, logical_type(data_type)))
        return result

    @staticmethod
    def _uuid_columns(conn, schema: str) -> set[tuple[str, str]]:
        rows = conn.execute(
            "SELECT table_name, column_name FROM (" + _PG_COLUMNS + ") AS cols WHERE data_type = 'uuid'",
            [schema],
        )
        return {(t, c) for t, c in rows}

    def _read(self, conn, schema: str) -> tuple[tuple[int, int] | None, list[TableData]]:
        from psycopg import sql

        columns_by_table = self._column_types(conn, schema)
        uuid_columns = self._uuid_columns(conn, schema)
        if not columns_by_table:
            raise StoreError(f"The store schema {schema} has no tables.")
        version = None
        tables = []
        for name in _sorted_names([n for n in columns_by_table if n.startswith("whatsmeow")]):
            cols = columns_by_table[name]
            query = sql.SQL("SELECT {} FROM {}.{}").format(
                sql.SQL(", ").join(sql.Identifier(c) for c, _ in cols), sql.Identifier(schema), sql.Identifier(name)
            )
            rows = conn.execute(query).fetchall()
            types = tuple(t for _, t in cols)
            uuids = [i for i, (c, _) in enumerate(cols) if (name, c) in uuid_columns]
            if uuids and rows:
                # uuid columns come back as uuid.UUID; the archive stores text.
                rows = [tuple(str(v) if i in uuids and v is not None else v for i, v in enumerate(r)) for r in rows]
            if name == "whatsmeow_version" and rows:
                version = (int(rows[0][0]), int(rows[0][1]))
            tables.append(TableData(name, tuple(c for c, _ in cols), types, rows))
        return version, tables

    def replace_with(self, tables: list[TableData], *, keep_old: bool) -> str:
        import psycopg
        from psycopg import sql

        temp = f"{self.schema}__restore"
        aside = f"{self.schema}__aside_{time.strftime('%Y%m%d%H%M%S')}"[:63]
        try:
            with pg_connect() as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(temp)))
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(temp)))
                conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(temp)))
                for statement in DDL:
                    conn.execute(statement)
                types = {t: dict(cols) for t, cols in self._column_types(conn, temp).items()}
                for table in _ordered(tables):
                    if table.rows:
                        with conn.cursor() as cur:
                            cur.executemany(_insert_sql(table, "%s"), _coerce_rows(table, types[table.name]))
                exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema]).fetchone()
                moved = ""
                if exists and keep_old:
                    conn.execute(
                        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                            sql.Identifier(self.schema), sql.Identifier(aside)
                        )
                    )
                    moved = aside
                elif exists:
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))
                conn.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(temp), sql.Identifier(self.schema))
                )
                conn.commit()  # the swap is one transaction: readers see the old schema or the new one
                return moved
        except psycopg.Error as exc:
            raise StoreError(f"Cannot write the restored store schema: {exc}".splitlines()[0]) from exc

    def wipe(self) -> None:
        from psycopg import sql

        with pg_connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


def database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def store_for(session_name: str) -> LiveStore:
    """The live store of ``session_name`` on the backend ``DATABASE_URL`` selects."""
    if database_is_postgres():
        return PostgresStore(session_name)
    return SqliteStore(session_name)
