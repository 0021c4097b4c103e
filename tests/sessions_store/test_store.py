"""The live store: where it is, what neonize gets, and how healthy it is."""

from __future__ import annotations

import sqlite3

import pytest
from psycopg import sql

from sessions_store.store import PostgresStore, SqliteStore, StoreError, pg_connect, store_for

from .factories import make_empty_store, make_paired_store
from .neonize_probe import neonize_devices

pytestmark = pytest.mark.django_db


def test_the_backend_follows_database_url(is_postgres, settings):
    store = store_for("default")
    if is_postgres:
        assert isinstance(store, PostgresStore)
        assert store.backend == "postgres"
        assert "search_path=wa_default" in store.dsn
        assert store.dsn.startswith("postgres://")
    else:
        assert isinstance(store, SqliteStore)
        assert store.backend == "sqlite"
        assert store.dsn.startswith(str(settings.WA_STORE_DIR) + "/default.sqlite3?")
        assert "_journal_mode=WAL" in store.dsn and store.dsn.endswith("&_x=")


def test_the_sqlite_dsn_is_absolute_and_creates_its_directory(settings, tmp_path):
    settings.WA_STORE_DIR = tmp_path / "not" / "yet"
    store = SqliteStore("bot-1")
    assert store.dsn.startswith(str(tmp_path / "not" / "yet" / "bot-1.sqlite3"))
    assert (tmp_path / "not" / "yet").is_dir()


def test_the_postgres_schema_name_is_a_plain_identifier():
    assert PostgresStore("My-Bot").schema == "wa_my_bot"


def test_a_bad_session_name_is_refused_with_a_sentence():
    with pytest.raises(StoreError, match="letters, digits"):
        store_for("../etc/passwd")


def test_a_store_that_does_not_exist_is_missing():
    health = store_for("nobody").health()
    assert health.status == "missing"
    assert health.device_jid == ""


def test_a_store_created_by_neonize_without_pairing_is_empty():
    health = make_empty_store("fresh").health()
    assert health.status == "empty"
    assert "no device row" in health.reason


def test_a_paired_store_is_healthy_with_its_device_jid():
    store = make_paired_store("paired", jid="15557654321:3@s.whatsapp.net")
    health = store.health()
    assert health.status == "healthy"
    assert health.device_jid == "15557654321:3@s.whatsapp.net"
    assert neonize_devices(store.dsn) == ["15557654321:3@s.whatsapp.net"]


def test_a_store_with_a_missing_table_is_corrupt(is_postgres):
    store = make_paired_store("broken")
    if is_postgres:
        with pg_connect() as conn:
            conn.execute(sql.SQL("DROP TABLE {}.whatsmeow_contacts").format(sql.Identifier(store.schema)))
    else:
        conn = sqlite3.connect(store.path)
        conn.execute("DROP TABLE whatsmeow_contacts")
        conn.commit()
        conn.close()
    health = store.health()
    assert health.status == "corrupt"
    assert "whatsmeow_contacts" in health.reason


def test_a_sqlite_file_of_garbage_is_corrupt(settings, tmp_path):
    settings.WA_STORE_DIR = tmp_path
    (tmp_path / "junk.sqlite3").write_bytes(b"this is not a database" * 300)
    health = SqliteStore("junk").health()
    assert health.status == "corrupt"
    assert health.reason


def test_a_truncated_sqlite_file_is_corrupt(settings, tmp_path):
    settings.WA_STORE_DIR = tmp_path
    store = make_paired_store("cut")
    data = store.path.read_bytes() if isinstance(store, SqliteStore) else None
    if data is None:
        pytest.skip("SQLite only")
    store.path.write_bytes(data[: len(data) // 3])
    assert store.health().status == "corrupt"


def test_an_empty_sqlite_file_is_empty(settings, tmp_path):
    settings.WA_STORE_DIR = tmp_path
    (tmp_path / "zero.sqlite3").write_bytes(b"")
    assert SqliteStore("zero").health().status == "empty"


def test_a_snapshot_reads_every_whatsmeow_table_with_bytes_intact():
    store = make_paired_store("snap")
    version, tables = store.read_tables()
    assert version == (15, 8)
    assert len(tables) == 17
    device = next(t for t in tables if t.name == "whatsmeow_device")
    row = dict(zip(device.columns, device.rows[0], strict=True))
    assert isinstance(row["noise_key"], bytes) and len(row["noise_key"]) == 32
    assert device.types[device.columns.index("noise_key")] == "bytes"
    pre_keys = next(t for t in tables if t.name == "whatsmeow_pre_keys")
    assert pre_keys.types[pre_keys.columns.index("uploaded")] == "bool"
    assert len(pre_keys.rows) == 50
