"""The PostgreSQL live store: one schema ``wa_<name>`` per session in the project database.

Never ``public``, never beside the Django tables. Read and written with psycopg, imported lazily
so a SQLite deployment never loads it. Imported through ``sessions_store.store`` by the
supervisor, the bot child (for the DSN), the web dyno and the django-q2 worker.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import quote

from django.conf import settings

from sessions_store.whatsmeow_schema import DDL, WHATSMEOW_VERSION

from .base import (
    ASIDE,
    CORRUPT,
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
    sorted_table_names,
    store_key,
    tables_check_known,
)

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

_ASIDE_STAMP = "%Y%m%d%H%M%S"
_SCHEMA_BYTES = (
    "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'"
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
        return "wa_" + store_key(self.session_name)

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

    def health(self, *, pages: bool = True) -> StoreHealth:
        import psycopg
        from psycopg import sql

        try:
            with pg_connect(autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema]).fetchone()
                if not found:
                    return StoreHealth(MISSING, f"no schema {self.schema}")
                names = {r[0] for r in conn.execute(_PG_TABLES, [self.schema])}
                conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
                return health_from_tables(names, lambda q: conn.execute(q).fetchall())
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
        for name in sorted_table_names([n for n in columns_by_table if n.startswith("whatsmeow")]):
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

    def generation_read(self) -> int:
        import psycopg

        try:
            with pg_connect(autocommit=True) as conn:
                present = conn.execute(_PG_TABLES + " AND c.relname = %s", [self.schema, GENERATION_TABLE]).fetchone()
                if not present:
                    return 0  # a store written before generations existed (or no store)
                row = conn.execute(f'SELECT max(generation) FROM "{self.schema}".{GENERATION_TABLE}').fetchone()
        except psycopg.Error as exc:
            raise StoreError(
                f"Cannot read the generation of the store schema {self.schema}: {exc}".splitlines()[0]
            ) from exc
        return int(row[0] or 0)

    def generation_write(self, generation: int) -> None:
        import psycopg

        try:
            with pg_connect() as conn:
                _write_generation(conn, self.schema, generation)
        except psycopg.Error as exc:
            raise StoreError(f"Cannot record the generation in {self.schema}: {exc}".splitlines()[0]) from exc

    def _aside_prefix(self) -> str:
        return f"{self.schema[:41]}__aside_"  # 41 + 8 + 14 = 63, PostgreSQL's longest identifier

    def leftovers(self) -> list[Leftover]:
        import psycopg

        aside_re = re.compile(rf"{re.escape(self._aside_prefix())}(\d{{14}})")
        found = []
        try:
            with pg_connect(autocommit=True) as conn:
                names = [
                    r[0]
                    for r in conn.execute(
                        "SELECT nspname FROM pg_namespace WHERE nspname = %s OR starts_with(nspname, %s)",
                        [f"{self.schema}__restore", self._aside_prefix()],
                    )
                ]
                for name in names:
                    size = int(conn.execute(_SCHEMA_BYTES, [name]).fetchone()[0])
                    if name == f"{self.schema}__restore":
                        # Only ever visible once committed, and a restore commits it under the live name:
                        # a visible one was left by older code, and no writer is at work on it.
                        found.append(Leftover(name, TEMP, 0.0, size))
                    elif aside := aside_re.fullmatch(name):
                        created = time.mktime(time.strptime(aside.group(1), _ASIDE_STAMP))
                        found.append(Leftover(name, ASIDE, created, size))
        except psycopg.Error as exc:
            raise StoreError(f"Cannot list the leftover schemas of {self.schema}: {exc}".splitlines()[0]) from exc
        return found

    def leftover_remove(self, leftover: Leftover) -> None:
        from psycopg import sql

        with pg_connect(autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(leftover.name)))

    def replace_with(self, tables: list[TableData], *, keep_old: bool, generation: int = 0) -> str:
        import psycopg
        from psycopg import sql

        tables_check_known(tables)  # before any SQL is built from their names
        temp = f"{self.schema}__restore"
        aside = f"{self._aside_prefix()}{time.strftime(_ASIDE_STAMP)}"
        try:
            with pg_connect() as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(temp)))
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(temp)))
                conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(temp)))
                for statement in DDL:
                    conn.execute(statement)
                types = {t: dict(cols) for t, cols in self._column_types(conn, temp).items()}
                for table in ordered_tables(tables):
                    if table.rows:
                        with conn.cursor() as cur:
                            cur.executemany(insert_sql(table, "%s"), coerce_rows(table, types[table.name]))
                if generation:
                    _write_generation(conn, temp, generation)
                exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [self.schema]).fetchone()
                moved = ""
                if exists and keep_old:
                    # One aside copy per second: an older one of the same second gives way to this one.
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(aside)))
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


def _write_generation(conn, schema: str, generation: int) -> None:
    """One row: the generation and when it was recorded, in the caller's transaction."""
    from psycopg import sql

    conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    conn.execute(GENERATION_DDL)
    conn.execute(f"DELETE FROM {GENERATION_TABLE}")
    stamped = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    conn.execute(f"INSERT INTO {GENERATION_TABLE} (generation, stamped_at) VALUES (%s, %s)", (generation, stamped))
