"""The SQLite live store: ``$WA_STORE_DIR/<name>.sqlite3`` in WAL mode, read and written with sqlite3.

The backend ``store_for`` picks without a PostgreSQL ``DATABASE_URL`` (a laptop, a single VPS).
Imported through ``sessions_store.store`` by the supervisor, the bot child (for the DSN), the web
dyno and the django-q2 worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import sqlite3
import time
from pathlib import Path

from django.conf import settings

from blacksky_site.tempfiles import describe_disk_error, is_disk_full
from sessions_store.whatsmeow_schema import DDL, TABLES

from .base import (
    ASIDE,
    CORRUPT,
    EMPTY,
    GENERATION_DDL,
    GENERATION_TABLE,
    MISSING,
    TEMP,
    Leftover,
    LiveStore,
    StoreError,
    StoreHealth,
    TableData,
    coerce_rows,
    health_from_tables,
    insert_sql,
    logical_type,
    ordered_tables,
    quote_identifier,
    sorted_table_names,
    tables_check_known,
)

logger = logging.getLogger("sessions_store.store")  # the name operators know from the log lines
_SQLITE_PARAMS = "_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_x="
_COMPANIONS = ("-wal", "-shm", "-journal")
_ASIDE_STAMP = "%Y%m%d%H%M%S"


class SqliteStore(LiveStore):
    backend = "sqlite"

    def __init__(self, session_name: str, directory: Path | None = None) -> None:
        super().__init__(session_name)
        self.directory = Path(directory or settings.WA_STORE_DIR).resolve()
        self.path = self.directory / f"{self.session_name}.sqlite3"

    @property
    def dsn(self) -> str:
        # neonize appends "?_foreign_keys=on" to any DSN; the trailing "_x=" takes that as its value,
        # so the parameters above are not cut short by a second "?".
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

    def health(self, *, pages: bool = True) -> StoreHealth:
        if not self.path.exists():
            return StoreHealth(MISSING, f"no SQLite store at {self.path}")
        if self.path.stat().st_size == 0 and not Path(f"{self.path}-wal").exists():
            return StoreHealth(EMPTY, "the SQLite store file is empty")
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            return StoreHealth(CORRUPT, f"cannot open the SQLite store: {exc}")
        try:
            check = conn.execute("PRAGMA quick_check").fetchone() if pages else ("ok",)
            if not check or check[0] != "ok":
                return StoreHealth(CORRUPT, f"integrity check failed: {check[0] if check else 'no answer'}")
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return health_from_tables(names, lambda sql: conn.execute(sql).fetchall())
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

    def generation_read(self) -> int:
        if not self.path.exists():
            return 0
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the SQLite store {self.path}: {exc}") from exc
        try:
            row = conn.execute(f"SELECT max(generation) FROM {GENERATION_TABLE}").fetchone()
        except sqlite3.OperationalError:
            return 0  # no such table: a store written before generations existed
        finally:
            conn.close()
        return int(row[0] or 0)

    def generation_write(self, generation: int) -> None:
        try:
            conn = self._connect()
            try:
                _write_generation(conn, generation)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot record the generation in the SQLite store {self.path}: {exc}") from exc

    def _temp_re(self) -> re.Pattern[str]:
        return re.compile(rf"\.{re.escape(self.session_name)}\.restore-(?:(\d+)-)?[0-9a-f]+\.sqlite3")

    def _aside_re(self) -> re.Pattern[str]:
        return re.compile(rf"{re.escape(self.path.name)}\.aside-(\d{{14}})(?:-\d+)?")

    def leftovers(self) -> list[Leftover]:
        if not self.directory.is_dir():
            return []
        temp_re, aside_re = self._temp_re(), self._aside_re()
        found = []
        for entry in self.directory.iterdir():
            if temp := temp_re.fullmatch(entry.name):
                kind, writer = TEMP, int(temp.group(1)) if temp.group(1) else None
                created = _mtime(entry)
            elif aside := aside_re.fullmatch(entry.name):
                kind, writer = ASIDE, None
                created = time.mktime(time.strptime(aside.group(1), _ASIDE_STAMP))
            else:
                continue
            size = sum(_size(Path(f"{entry}{suffix}")) for suffix in ("", *_COMPANIONS))
            found.append(Leftover(entry.name, kind, created, size, writer))
        return found

    def leftover_remove(self, leftover: Leftover) -> None:
        for suffix in ("", *_COMPANIONS):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{leftover.name}{suffix}").unlink()

    def _aside_path(self) -> Path:
        base = f"{self.path.name}.aside-{time.strftime(_ASIDE_STAMP)}"
        candidate, n = self.directory / base, 1
        while candidate.exists():  # two moves within one second keep both copies
            n += 1
            candidate = self.directory / f"{base}-{n}"
        return candidate

    def replace_with(self, tables: list[TableData], *, keep_old: bool, generation: int = 0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        tables_check_known(tables)  # before any SQL is built from their names
        # The writer's pid in the name lets a later start tell an orphan from a restore at work.
        temp = self.directory / f".{self.session_name}.restore-{os.getpid()}-{secrets.token_hex(4)}.sqlite3"
        try:
            conn = self._connect(temp, create=True)
            try:
                # A fresh file no one else opens until the swap, which is atomic: no journal, no
                # syncs while it fills (one fsync of the whole file below), the rows in one
                # transaction after the schema's (on disk first: a killed restore leaves a store
                # whose size says what it held).
                conn.execute("PRAGMA journal_mode = OFF")
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute("PRAGMA cache_size = -65536")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("BEGIN")
                for statement in DDL:
                    conn.execute(statement)
                conn.execute("COMMIT")
                types = _sqlite_column_types(conn)
                conn.execute("BEGIN")
                for table in ordered_tables(tables):
                    if table.rows:
                        conn.executemany(insert_sql(table, "?"), coerce_rows(table, types[table.name]))
                if generation:
                    _write_generation(conn, generation, begin=False)
                conn.execute("COMMIT")
                # No page check here: SQLite built these pages in this connection from rows it took
                # (constraints and foreign keys on), and a check would read them back from the page
                # cache, not the disk, at a third of the cost of writing them. The health check after
                # the swap still asks for the tables, the version row and the device.
            finally:
                conn.close()
            _fsync_file(temp)
            aside = ""
            if self.path.exists() and keep_old:
                aside = str(self._aside_path())
                os.replace(self.path, aside)
            for suffix in _COMPANIONS:
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


def _write_generation(conn: sqlite3.Connection, generation: int, *, begin: bool = True) -> None:
    """One row: the generation and when it was recorded (inside the caller's transaction when not ``begin``)."""
    if begin:
        conn.execute("BEGIN IMMEDIATE")
    conn.execute(GENERATION_DDL)
    conn.execute(f"DELETE FROM {GENERATION_TABLE}")
    stamped = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conn.execute(f"INSERT INTO {GENERATION_TABLE} (generation, stamped_at) VALUES (?, ?)", (generation, stamped))
    if begin:
        conn.execute("COMMIT")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


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
    for name in sorted_table_names(names):
        info = list(conn.execute(f"PRAGMA table_info({quote_identifier(name)})"))
        columns = tuple(row[1] for row in info)
        types = tuple(logical_type(row[2]) for row in info)
        selected = ", ".join(quote_identifier(c) for c in columns)
        rows = conn.execute(f"SELECT {selected} FROM {quote_identifier(name)}").fetchall()
        bools = [i for i, kind in enumerate(types) if kind == "bool"]
        if bools and rows:
            # SQLite keeps booleans as 0/1; the archive's rows carry Python bools on every backend.
            rows = [tuple(bool(v) if i in bools and v is not None else v for i, v in enumerate(r)) for r in rows]
        if name == "whatsmeow_version" and rows:
            version = (int(rows[0][0]), int(rows[0][1]))
        tables.append(TableData(name, columns, types, rows))
    return version, tables
