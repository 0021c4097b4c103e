"""Archive formats on a wiped disk: new backups are zstd (format 3); zlib archives written by the
code before it (formats 1 and 2, kept in ``fixtures/`` as that code wrote them) still restore; a
damaged archive of either kind is refused with one sentence and the chain falls back.

Runs on the test database's backend (SQLite by default, PostgreSQL with a postgres DATABASE_URL).
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from django.db import connection

from sessions_store import crypto
from sessions_store.models import SessionBackup
from sessions_store.services import backup_create, session_get_or_create, session_restore_chain
from sessions_store.store import store_for

from .factories import make_paired_store

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
LEGACY_JID = "15550000777:3@s.whatsapp.net"


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def _legacy_row(name: str, settings) -> SessionBackup:
    """The backup row and bytes exactly as the zlib code stored them (its key is the fixture's)."""
    fixture = _fixture(name)
    settings.SESSION_ENCRYPTION_KEY = fixture["key_b64"]
    session = session_get_or_create(name=fixture["session"])
    return SessionBackup.objects.create(
        session=session,
        reason="manual",
        state="verified",
        archive=base64.b64decode(fixture["stored_b64"]),
        **fixture["row"],
    )


@pytest.mark.parametrize(("name", "fmt"), [("format1_zlib.json", 1), ("format2_zlib.json", 2)])
def test_a_zlib_archive_written_by_the_old_code_restores_on_a_wiped_disk(name, fmt, settings, caplog):
    row = _legacy_row(name, settings)
    stored = bytes(row.archive)
    assert crypto.open_stored(stored, expected_sha256=row.sha256, owner="legacy").format == fmt
    store_for("legacy").wipe()

    with caplog.at_level(logging.WARNING, logger="sessions_store.services"):
        outcome = session_restore_chain(session_name="legacy")

    assert outcome.source == "backup" and outcome.backup_id == row.pk, outcome
    health = store_for("legacy").health()
    assert health.healthy and health.device_jid == LEGACY_JID
    unbound = [r for r in caplog.records if r.getMessage() == "backup accepted unbound"]
    assert len(unbound) == (1 if fmt == 1 else 0)


def test_a_new_backup_is_zstd_bound_to_its_session_and_restores(settings):
    settings.SESSION_ENCRYPTION_KEY = _fixture("format2_zlib.json")["key_b64"]
    make_paired_store("fresh", jid=LEGACY_JID, seed=5)
    backup = backup_create(session_name="fresh", reason="manual")
    stored = bytes(SessionBackup.objects.get(pk=backup.pk).archive)
    assert stored.startswith(crypto.MAGIC_ZSTD)
    assert crypto.stored_binding(stored) == crypto.Binding("fresh", str(backup.archive_id))
    store_for("fresh").wipe()

    outcome = session_restore_chain(session_name="fresh")

    assert outcome.source == "backup" and outcome.backup_id == backup.pk
    assert store_for("fresh").health().device_jid == LEGACY_JID


@pytest.mark.parametrize("kind", ["zstd", "zlib"])
def test_a_damaged_archive_of_either_compressor_is_refused_in_one_sentence_and_the_chain_falls_back(kind, settings):
    older = _legacy_row("format1_zlib.json" if kind == "zlib" else "format2_zlib.json", settings)
    if kind == "zstd":
        make_paired_store("legacy", jid=LEGACY_JID, seed=5)
        damaged = backup_create(session_name="legacy", reason="manual")
    else:
        damaged = _legacy_row("format2_zlib.json", settings)
    stored = bytearray(SessionBackup.objects.get(pk=damaged.pk).archive)
    stored[-40] ^= 0x01  # inside the ciphertext; the checksum is made to agree, as a bad copy would
    SessionBackup.objects.filter(pk=damaged.pk).update(archive=bytes(stored), sha256=crypto.sha256_hex(bytes(stored)))
    SessionBackup.objects.filter(pk=older.pk).update(created_at=older.created_at.replace(year=2020))
    store_for("legacy").wipe()

    outcome = session_restore_chain(session_name="legacy")

    damaged.refresh_from_db()
    assert damaged.state == "corrupt"
    assert damaged.state_reason == "Decryption failed: the header or the data was tampered with or truncated."
    assert outcome.source == "backup" and outcome.backup_id == older.pk
    assert store_for("legacy").health().device_jid == LEGACY_JID


def test_the_archive_bytes_sit_last_in_the_backup_row_so_a_listing_never_walks_them(is_postgres):
    if is_postgres:
        pytest.skip("PostgreSQL keeps large values outside the row")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA table_info(sessions_store_sessionbackup)")
        columns = [row[1] for row in cursor.fetchall()]
    assert columns[-1] == "archive"
