"""A snapshot taken while whatsmeow writes is consistent: each write is wholly in it or wholly not."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from psycopg import sql

from sessions_store.snapshot import archive_from_store
from sessions_store.store import SqliteStore, pg_connect

from .factories import make_paired_store

pytestmark = pytest.mark.django_db

WRITES = 300


def _writer(store, jid: str, done: threading.Event, errors: list[BaseException]) -> None:
    """Like whatsmeow storing a new Signal session: two tables in one transaction."""
    try:
        if isinstance(store, SqliteStore):
            conn = sqlite3.connect(store.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            run = conn.execute
        else:
            conn = pg_connect(autocommit=True)
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
            run = conn.execute
        for i in range(WRITES):
            run("BEGIN")
            their = f"1777{i:07d}.0"
            if isinstance(store, SqliteStore):
                run("INSERT INTO whatsmeow_sessions VALUES (?, ?, ?)", (jid, their, b"s" * 300))
                run("INSERT INTO whatsmeow_identity_keys VALUES (?, ?, ?)", (jid, their, b"k" * 32))
            else:
                run("INSERT INTO whatsmeow_sessions VALUES (%s, %s, %s)", (jid, their, b"s" * 300))
                run("INSERT INTO whatsmeow_identity_keys VALUES (%s, %s, %s)", (jid, their, b"k" * 32))
            run("COMMIT")
        conn.close()
    except BaseException as exc:  # reported to the test thread
        errors.append(exc)
    finally:
        done.set()


def test_snapshots_during_writes_never_hold_half_a_transaction():
    store = make_paired_store("busy-writer")
    jid = store.health().device_jid
    done, errors = threading.Event(), []
    thread = threading.Thread(target=_writer, args=(store, jid, done, errors))
    thread.start()
    seen = set()
    try:
        while not done.is_set() or not seen:
            counts = archive_from_store(store).row_counts
            assert counts["whatsmeow_sessions"] == counts["whatsmeow_identity_keys"]
            seen.add(counts["whatsmeow_sessions"])
    finally:
        thread.join(timeout=60)
    assert not errors, errors
    final = archive_from_store(store).row_counts
    assert final["whatsmeow_sessions"] == final["whatsmeow_identity_keys"] == 5 + WRITES
