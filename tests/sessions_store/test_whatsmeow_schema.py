"""The whatsmeow schema shipped in ``sessions_store.whatsmeow_schema`` is exactly neonize's.

A restore creates the tables itself (the supervisor never loads neonize), so a neonize upgrade
that changes the schema must fail here rather than produce stores whatsmeow rejects.
"""

from __future__ import annotations

import sqlite3

import pytest
from psycopg import sql

from sessions_store.services import backup_create, session_restore_chain
from sessions_store.store import PostgresStore, pg_connect, store_for
from sessions_store.whatsmeow_schema import DDL, TABLES, WHATSMEOW_VERSION, schema_columns

from .factories import make_paired_store, neonize_ddl, neonize_run, neonize_template

pytestmark = pytest.mark.django_db

_CONNECT = """
import sys
from neonize.client import NewClient
try:
    NewClient(sys.argv[1], uuid="check").connect()
except Exception as exc:
    print("ERROR", exc)
"""


def _neonize_connect_error(dsn: str) -> str:
    result = neonize_run(_CONNECT, dsn)
    return next((line for line in result.stdout.splitlines() if line.startswith("ERROR")), result.stderr[-500:])


def test_the_shipped_ddl_is_what_neonize_creates():
    assert list(DDL) == neonize_ddl()
    conn = sqlite3.connect(neonize_template())
    try:
        assert conn.execute("SELECT version, compat FROM whatsmeow_version").fetchall() == [WHATSMEOW_VERSION]
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY rowid")]
    finally:
        conn.close()
    assert names == list(TABLES) and len(TABLES) == 17


def test_the_names_an_archive_may_use_are_the_tables_and_columns_neonize_creates():
    conn = sqlite3.connect(neonize_template())
    try:
        created = {t: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({t})")) for t in TABLES}
    finally:
        conn.close()
    assert schema_columns(WHATSMEOW_VERSION) == created
    assert schema_columns((WHATSMEOW_VERSION[0] + 1, WHATSMEOW_VERSION[1])) is None


def test_neonize_accepts_a_store_this_app_restored():
    store = make_paired_store("accepted")
    backup_create(session_name="accepted", reason="manual")
    store.wipe()
    assert session_restore_chain(session_name="accepted").source == "backup"
    error = _neonize_connect_error(store.dsn)
    # It gets as far as dialling WhatsApp (offline here): the schema and device were accepted.
    assert "failed to dial" in error and "upgrade" not in error


def _catalog(schema: str, *, dbname: str) -> list[tuple]:
    with pg_connect(dbname=dbname) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = %s ORDER BY table_name, column_name",
            [schema],
        ).fetchall()
        constraints = conn.execute(
            "SELECT rel.relname, replace(pg_get_constraintdef(con.oid), %s, 'S.') FROM pg_constraint con "
            "JOIN pg_class rel ON rel.oid = con.conrelid JOIN pg_namespace ns ON ns.oid = rel.relnamespace "
            "WHERE ns.nspname = %s ORDER BY 1, 2",
            [f"{schema}.", schema],
        ).fetchall()
        indexes = conn.execute(
            "SELECT tablename, replace(indexdef, %s, 'S.') FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2",
            [f"{schema}.", schema],
        ).fetchall()
    return [*columns, *constraints, *indexes]


def test_on_postgres_the_shipped_ddl_matches_the_schema_neonize_creates(is_postgres, settings):
    if not is_postgres:
        pytest.skip("needs PostgreSQL")
    # neonize can only create a schema in a database without other whatsmeow tables: use a scratch one.
    scratch = (settings.DATABASES["default"]["NAME"] + "_neonize")[:63]
    with pg_connect(autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))
        # template0: template1 may be in use by a concurrent test run, which makes CREATE DATABASE fail.
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(scratch)))
    try:
        with pg_connect(dbname=scratch) as conn:
            conn.execute("CREATE SCHEMA wa_by_neonize")
        dsn = (
            PostgresStore("x")
            .dsn_for_schema()
            .replace(f"/{settings.DATABASES['default']['NAME']}?", f"/{scratch}?")
            .replace("search_path=wa_x", "search_path=wa_by_neonize")
        )
        assert "failed to dial" in _neonize_connect_error(dsn)
        with pg_connect(dbname=scratch) as conn:
            conn.execute("CREATE SCHEMA wa_by_us")
            conn.execute("SET LOCAL search_path TO wa_by_us")
            for statement in DDL:
                conn.execute(statement)
        theirs, ours = _catalog("wa_by_neonize", dbname=scratch), _catalog("wa_by_us", dbname=scratch)
        assert len(theirs) > 17 and theirs == ours
    finally:
        with pg_connect(autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(scratch)))


def test_on_postgres_a_second_session_gets_a_store_neonize_accepts(is_postgres):
    if not is_postgres:
        pytest.skip("needs PostgreSQL")
    make_paired_store("first")  # another session's whatsmeow tables already in the database
    second = PostgresStore("second")
    second.wipe()
    error = _neonize_connect_error(second.dsn)
    assert "failed to dial" in error and "upgrade" not in error
    assert second.health().status == "empty"
    with pg_connect() as conn:
        public = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE 'whatsmeow%%'"
        ).fetchone()[0]
    assert public == 0  # whatsmeow never lands beside the Django tables


def test_the_store_backend_is_what_neonize_is_given():
    store = store_for("given")
    assert store.dsn  # creates the directory or the schema
    assert "whatsmeow" not in store.dsn
