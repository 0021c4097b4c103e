"""Orphaned temporary and aside stores: which go (a table), and the real removal on both backends."""

from __future__ import annotations

import logging
import os
import time

import pytest
from psycopg import sql

from sessions_store.services import session_restore_chain
from sessions_store.services.leftovers import LEFTOVER_MIN_AGE, leftovers_to_remove, store_leftovers_remove
from sessions_store.store import ASIDE, TEMP, Leftover, SqliteStore, pg_connect

from .factories import dead_pid, make_paired_store

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000.0
OLD = NOW - LEFTOVER_MIN_AGE - 1
YOUNG = NOW - 10
WRITERS = {11: NOW - 3600, 12: NOW - 5}  # 11 wrote its store and lives; 12 started after store "c" was written


def _started(pid: int) -> float | None:
    return WRITERS.get(pid)


ITEMS = [
    (Leftover("a", TEMP, YOUNG, 1, writer_pid=10), True),  # its writer is gone: an orphan, whatever its age
    (Leftover("b", TEMP, YOUNG, 1, writer_pid=11), False),  # its writer lives: a restore at work
    (Leftover("b2", TEMP, OLD, 1, writer_pid=11), False),  # ... however long it takes
    (Leftover("c", TEMP, NOW - 60, 1, writer_pid=12), True),  # the pid now belongs to a later process
    (Leftover("d", TEMP, OLD, 1), True),  # no writer in its name (older code): by age
    (Leftover("e", TEMP, YOUNG, 1), False),
    (Leftover("f1", ASIDE, OLD - 30, 1), True),
    (Leftover("f2", ASIDE, OLD - 20, 1), True),
    (Leftover("f3", ASIDE, OLD - 10, 1), False),  # the newest aside copy stays
]


def test_which_leftovers_go():
    doomed = leftovers_to_remove(leftovers=[i for i, _ in ITEMS], now=NOW, writer_started=_started)
    assert sorted(i.name for i in doomed) == sorted(i.name for i, gone in ITEMS if gone)


def test_a_young_aside_copy_stays_even_when_it_is_not_the_newest():
    items = [Leftover("x1", ASIDE, YOUNG - 5, 1), Leftover("x2", ASIDE, YOUNG, 1)]
    assert leftovers_to_remove(leftovers=items, now=NOW, writer_started=_started) == []


def _stamp(seconds_ago: float) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.localtime(time.time() - seconds_ago))


@pytest.fixture
def sqlite_only(is_postgres):
    if is_postgres:
        pytest.skip("SQLite stores are files; the PostgreSQL case is below")


def test_sqlite_orphans_are_removed_and_the_log_names_them(sqlite_only, caplog):
    store = make_paired_store("files")
    assert isinstance(store, SqliteStore)
    d = store.directory
    orphan = d / f".files.restore-{dead_pid()}-0a0b0c0d.sqlite3"
    orphan.write_bytes(b"x" * 4096)
    (d / f"{orphan.name}-journal").write_bytes(b"j" * 100)
    at_work = d / f".files.restore-{os.getpid()}-0e0f0a0b.sqlite3"  # this live process "is writing" it
    at_work.write_bytes(b"y" * 10)
    old_style = d / ".files.restore-1a2b3c4d.sqlite3"
    old_style.write_bytes(b"z" * 10)
    os.utime(old_style, (time.time() - 3600, time.time() - 3600))
    asides = [d / f"files.sqlite3.aside-{_stamp(age)}" for age in (7200, 3600, 1800)]
    for path in asides:
        path.write_bytes(b"a" * 1000)
    (d / f"{asides[0].name}-wal").write_bytes(b"w" * 24)
    other = d / ".another.restore-1-0a0b0c0d.sqlite3"  # another session's: not ours to judge
    other.write_bytes(b"o")
    with caplog.at_level(logging.INFO, logger="sessions_store.services"):
        removed = store_leftovers_remove(store=store)
    assert sorted(i.name for i in removed) == sorted([orphan.name, old_style.name, asides[0].name, asides[1].name])
    assert (
        not orphan.exists()
        and not (d / f"{orphan.name}-journal").exists()
        and not (d / f"{asides[0].name}-wal").exists()
    )
    assert at_work.exists() and asides[2].exists() and other.exists() and store.health().healthy
    [line] = [r for r in caplog.records if r.getMessage() == "leftovers removed"]
    assert line.count == 4 and line.bytes == 4096 + 100 + 10 + 1000 + 24 + 1000
    assert orphan.name in line.names


def test_postgres_aside_schemas_beyond_the_newest_are_dropped(is_postgres, caplog):
    if not is_postgres:
        pytest.skip("schemas are the PostgreSQL store")
    store = make_paired_store("schemas")
    names = [f"{store.schema}__aside_{_stamp(age)}" for age in (7200, 3600)] + [f"{store.schema}__restore"]
    with pg_connect() as conn:
        for name in names:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE TABLE {}.t (x int)").format(sql.Identifier(name)))
    with caplog.at_level(logging.INFO, logger="sessions_store.services"):
        outcome = session_restore_chain(session_name="schemas")  # start-up does it
    assert sorted(outcome.leftovers_removed) == sorted([names[0], names[2]])
    with pg_connect() as conn:
        left = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'wa_schemas%'")}
    assert left == {store.schema, names[1]}
    assert any(r.getMessage() == "leftovers removed" and r.count == 2 for r in caplog.records)
