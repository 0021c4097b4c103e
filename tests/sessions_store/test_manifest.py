"""An archive's manifest names only whatsmeow's tables and columns: a hostile identifier refuses the
archive before any SQL is built, the restore chain falls back and the live store is untouched.

Runs on the test database's backend (SQLite by default, PostgreSQL with a postgres DATABASE_URL).
"""

from __future__ import annotations

import json
import sqlite3
import struct
import uuid

import pytest
from psycopg import sql

from sessions_store import crypto
from sessions_store.models import SessionBackup
from sessions_store.services import backup_create, backups_verify, session_restore_chain
from sessions_store.snapshot import ArchiveError, archive_decode, archive_encode, archive_from_store
from sessions_store.store import PostgresStore, SqliteStore, StoreError, TableData, pg_connect, store_for

from .factories import make_paired_store

pytestmark = pytest.mark.django_db

HOSTILE = 'messages"; DROP TABLE x; --'
JID = "15551234567:12@s.whatsapp.net"


def _rewrite_manifest(raw: bytes, edit) -> bytes:
    (length,) = struct.unpack_from(">I", raw, 7)
    manifest = json.loads(raw[11 : 11 + length])
    edit(manifest)
    body = json.dumps(manifest).encode()
    return raw[:7] + struct.pack(">I", len(body)) + body + raw[11 + length :]


def _rename_table(old: str, new: str):
    def edit(manifest):
        meta = next(t for t in manifest["tables"] if t["name"] == old)
        meta["name"] = new
        manifest["row_counts"][new] = manifest["row_counts"].pop(old)

    return edit


def _rename_column(table: str, old: str, new: str):
    def edit(manifest):
        meta = next(t for t in manifest["tables"] if t["name"] == table)
        next(c for c in meta["columns"] if c["name"] == old)["name"] = new

    return edit


EDITS = {
    "table": _rename_table("whatsmeow_contacts", HOSTILE),
    "column": _rename_column("whatsmeow_device", "push_name", 'push_name") VALUES (1); DROP TABLE x; --'),
    "quoted_table": _rename_table("whatsmeow_lid_map", 'whatsmeow_lid_map"; DROP TABLE x; --'),
}


def _hostile_backup(session_name: str, edit) -> SessionBackup:
    """A backup as an attacker with the key (or a bug) would write it: bound, checksummed, verified."""
    store = store_for(session_name)
    raw = _rewrite_manifest(archive_encode(archive_from_store(store)), edit)
    archive_id = str(uuid.uuid4())
    packed = crypto.pack(raw, session_name=session_name, archive_id=archive_id)
    good = SessionBackup.objects.filter(session__name=session_name).order_by("-id").first()
    return SessionBackup.objects.create(
        session=good.session,
        reason="manual",
        state="verified",
        archive=packed.stored,
        sha256=packed.sha256,
        key_id=packed.key_id,
        archive_id=archive_id,
        device_jid=JID,
        row_counts={},
    )


def _canary(store) -> None:
    """A table named ``x`` beside the live store's: what the hostile names try to drop."""
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        conn.execute("CREATE TABLE x (n INTEGER)")
        conn.commit()
        conn.close()
        return
    with pg_connect() as conn:
        conn.execute(sql.SQL("CREATE TABLE {}.x (n INTEGER)").format(sql.Identifier(store.schema)))


def _canary_alive(store) -> bool:
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            return conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'x'").fetchone()[0] == 1
        finally:
            conn.close()
    assert isinstance(store, PostgresStore)
    with pg_connect() as conn:
        found = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'x'", [store.schema]
        ).fetchone()
    return found is not None


def _rows(store) -> dict[str, list]:
    return {t.name: sorted(t.rows, key=repr) for t in archive_from_store(store).tables}


@pytest.mark.parametrize("identifier", sorted(EDITS))
def test_a_manifest_naming_what_the_schema_has_not_is_refused_when_decoded(identifier):
    store = make_paired_store("decoded")
    raw = _rewrite_manifest(archive_encode(archive_from_store(store)), EDITS[identifier])
    with pytest.raises(ArchiveError) as refused:
        archive_decode(raw)
    message = str(refused.value)
    assert "DROP TABLE x" in message and "does not have; it is refused." in message and "\n" not in message


@pytest.mark.parametrize("identifier", sorted(EDITS))
def test_a_forced_restore_of_a_hostile_manifest_leaves_the_live_store_untouched(identifier):
    store = make_paired_store("hostile")
    backup_create(session_name="hostile", reason="manual")
    _canary(store)
    before = _rows(store)
    bad = _hostile_backup("hostile", EDITS[identifier])

    outcome = session_restore_chain(session_name="hostile", force=True, backup_id=bad.pk)

    assert outcome.source == "none" and "does not have; it is refused" in outcome.detail
    bad.refresh_from_db()
    assert bad.state == "corrupt" and "DROP TABLE x" in bad.state_reason
    assert _rows(store) == before and _canary_alive(store)


def test_a_hostile_newest_backup_is_skipped_and_the_previous_one_restored():
    store = make_paired_store("fallback")
    good = backup_create(session_name="fallback", reason="manual")
    bad = _hostile_backup("fallback", EDITS["column"])
    store.wipe()

    outcome = session_restore_chain(session_name="fallback")

    assert outcome.source == "backup" and outcome.backup_id == good.pk
    assert store.health().device_jid == JID
    bad.refresh_from_db()
    assert bad.state == "corrupt"


def test_verify_backups_marks_a_hostile_manifest_corrupt():
    make_paired_store("verify")
    backup_create(session_name="verify", reason="manual")
    bad = _hostile_backup("verify", EDITS["table"])
    results = {r.backup_id: r for r in backups_verify(session_name="verify")}
    assert not results[bad.pk].ok and "DROP TABLE x" in results[bad.pk].detail


@pytest.mark.parametrize(
    "table",
    [
        TableData(HOSTILE, ("jid",), ("text",), [("a",)]),
        TableData("whatsmeow_device", ('jid"; DROP TABLE x; --',), ("text",), [("a",)]),
        TableData("WHATSMEOW_DEVICE", ("jid",), ("text",), [("a",)]),
    ],
    ids=["table", "column", "case"],
)
def test_a_store_refuses_to_write_names_the_schema_has_not_and_keeps_its_live_store(table):
    """The backstop below the archive check: a caller handing a store such a table changes nothing."""
    store = make_paired_store("backstop")
    _canary(store)
    before = _rows(store)
    with pytest.raises(StoreError, match="does not have; it is refused. Nothing was written."):
        store.replace_with([table], keep_old=False)
    assert _rows(store) == before and _canary_alive(store)
