"""The restore chain runbot runs at start: live store, backups, env vars, then pairing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sessions_store.envvars import env_export
from sessions_store.models import SessionBackup, WhatsAppSession
from sessions_store.services import (
    backup_create,
    session_mark_status,
    session_restore_chain,
    store_restore_archive,
)
from sessions_store.snapshot import archive_from_store
from sessions_store.store import PostgresStore, SqliteStore, store_for

from .factories import make_empty_store, make_paired_store
from .neonize_probe import neonize_devices

pytestmark = pytest.mark.django_db

JID = "15551234567:12@s.whatsapp.net"


def _wipe(store) -> None:
    """What a dyno restart does to the disk (or a dropped schema on PostgreSQL)."""
    if isinstance(store, SqliteStore):
        shutil.rmtree(store.directory)
    else:
        store.wipe()


def _corrupt(backup: SessionBackup) -> None:
    stored = bytearray(SessionBackup.objects.get(pk=backup.pk).archive)
    stored[-10] ^= 0xFF
    SessionBackup.objects.filter(pk=backup.pk).update(archive=bytes(stored))


def _rows(store) -> dict[str, list]:
    return {t.name: sorted(t.rows, key=repr) for t in archive_from_store(store).tables}


def test_a_healthy_live_store_is_kept_and_nothing_is_restored():
    make_paired_store("live")
    backup_create(session_name="live", reason="manual")
    outcome = session_restore_chain(session_name="live")
    assert outcome.source == "live" and not outcome.needs_pairing
    assert outcome.device_jid == JID


def test_it_restores_the_newest_valid_backup_after_the_store_is_wiped():
    store = make_paired_store("wiped")
    before = _rows(store)
    backup = backup_create(session_name="wiped", reason="manual")
    _wipe(store)
    assert store.health().status == "missing"
    outcome = session_restore_chain(session_name="wiped")
    assert (outcome.source, outcome.backup_id, outcome.needs_pairing) == ("backup", backup.pk, False)
    assert outcome.device_jid == JID
    assert _rows(store) == before
    assert neonize_devices(store.dsn) == [JID]
    session = WhatsAppSession.objects.get(name="wiped")
    assert session.jid == JID and session.store_backend == store.backend


def test_a_corrupt_newest_backup_falls_back_to_the_previous_one_and_is_marked():
    store = make_paired_store("fallback")
    older = backup_create(session_name="fallback", reason="manual")
    newer = backup_create(session_name="fallback", reason="manual")
    _corrupt(newer)
    _wipe(store)
    outcome = session_restore_chain(session_name="fallback")
    assert outcome.source == "backup" and outcome.backup_id == older.pk
    newer.refresh_from_db()
    assert newer.state == "corrupt" and "checksum" in newer.state_reason
    assert store.health().device_jid == JID


def test_all_backups_corrupt_falls_back_to_the_session_env_var(settings):
    store = make_paired_store("envfb")
    settings.WA_SESSION_DATA = env_export(archive=archive_from_store(store), session_name="envfb").values[
        "WA_SESSION_DATA"
    ]
    for _ in range(2):
        _corrupt(backup_create(session_name="envfb", reason="manual"))
    _wipe(store)
    outcome = session_restore_chain(session_name="envfb")
    assert outcome.source == "env_session_data" and not outcome.needs_pairing
    assert len(outcome.failures) == 2
    assert SessionBackup.objects.filter(state="corrupt").count() == 2
    assert store.health().device_jid == JID
    assert SessionBackup.objects.filter(reason="import", state="verified").exists()


def test_with_only_the_credential_vars_on_a_wiped_disk_neonize_logs_in_without_a_qr(settings):
    store = make_paired_store("heroku")
    export = env_export(archive=archive_from_store(store), session_name="heroku", credentials_only=True)
    settings.WA_CREDENTIALS = export.values["WA_CREDENTIALS"]
    settings.WA_AUTH_STATE = export.values["WA_AUTH_STATE"]
    _wipe(store)
    SessionBackup.objects.all().delete()
    WhatsAppSession.objects.all().delete()  # on Heroku with SQLite the Django database is wiped too
    outcome = session_restore_chain(session_name="heroku")
    assert outcome.source == "env_credentials" and outcome.device_jid == JID
    assert neonize_devices(store.dsn) == [JID]
    counts = {t.name: len(t.rows) for t in archive_from_store(store).tables}
    assert counts["whatsmeow_device"] == 1 and counts["whatsmeow_app_state_sync_keys"] == 2
    assert counts["whatsmeow_sessions"] == 0  # Signal sessions rebuild
    assert WhatsAppSession.objects.get(name="heroku").credentials_fingerprint


def test_a_bad_env_var_is_skipped_with_its_reason_and_the_next_one_is_used(settings):
    store = make_paired_store("mixed")
    export = env_export(archive=archive_from_store(store), session_name="mixed")
    settings.WA_SESSION_DATA = export.values["WA_SESSION_DATA"][:-40]
    settings.WA_CREDENTIALS = export.values["WA_CREDENTIALS"]
    _wipe(store)
    outcome = session_restore_chain(session_name="mixed")
    assert outcome.source == "env_credentials"
    assert any("WA_SESSION_DATA" in failure for failure in outcome.failures)


def test_nothing_to_restore_reports_that_pairing_is_needed():
    outcome = session_restore_chain(session_name="blank")
    assert outcome.source == "none" and outcome.needs_pairing
    assert outcome.backup_id is None


def test_a_wrongly_keyed_env_var_gets_a_clear_reason_and_pairing_is_needed(settings):
    store = make_paired_store("wrongkey")
    settings.SESSION_ENCRYPTION_KEY = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    settings.WA_CREDENTIALS = env_export(archive=archive_from_store(store), session_name="wrongkey").values[
        "WA_CREDENTIALS"
    ]
    settings.SESSION_ENCRYPTION_KEY = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
    settings.SECRET_KEY = "a-different-secret-key-0123456789abcdefghijklmnopqrstuv"
    _wipe(store)
    outcome = session_restore_chain(session_name="wrongkey")
    assert outcome.needs_pairing
    assert "WA_CREDENTIALS cannot be decrypted with this key" in outcome.detail
    assert store.health().status == "missing"


def test_a_corrupt_live_store_is_moved_aside_not_deleted(is_postgres):
    store = make_paired_store("rotten")
    backup_create(session_name="rotten", reason="manual")
    if is_postgres:
        from psycopg import sql

        from sessions_store.store import pg_connect

        with pg_connect() as conn:
            conn.execute(sql.SQL("DROP TABLE {}.whatsmeow_lid_map").format(sql.Identifier(store.schema)))
    else:
        store.path.write_bytes(b"garbage" * 1000)
    assert store.health().status == "corrupt"
    outcome = session_restore_chain(session_name="rotten")
    assert outcome.source == "backup" and store.health().healthy
    if is_postgres:
        from sessions_store.store import pg_connect

        with pg_connect() as conn:
            schemas = [r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata")]
        assert any(name.startswith("wa_rotten__aside_") for name in schemas)
    else:
        aside = [p for p in Path(store.directory).iterdir() if ".aside-" in p.name]
        assert len(aside) == 1 and aside[0].read_bytes() == b"garbage" * 1000


def test_force_on_a_healthy_store_takes_a_pre_restore_backup_first():
    store = make_paired_store("forced")
    backup = backup_create(session_name="forced", reason="manual")
    outcome = session_restore_chain(session_name="forced", force=True)
    assert outcome.source == "backup"
    pre = SessionBackup.objects.get(reason="pre_restore")
    assert pre.state == "verified" and outcome.backup_id == pre.pk  # newest verified
    assert store.health().healthy
    outcome = session_restore_chain(session_name="forced", force=True, backup_id=backup.pk)
    assert outcome.backup_id == backup.pk


def test_a_named_backup_is_not_restored_over_a_healthy_store_without_force():
    make_paired_store("named")
    backup = backup_create(session_name="named", reason="manual")
    outcome = session_restore_chain(session_name="named", backup_id=backup.pk)
    assert outcome.source == "live" and "--force" in outcome.detail


def test_a_logged_out_session_is_not_restored_automatically():
    store = make_paired_store("gone")
    backup_create(session_name="gone", reason="manual")
    session_mark_status(session_name="gone", status="logged_out", reason="LoggedOutEv")
    _wipe(store)
    outcome = session_restore_chain(session_name="gone")
    assert outcome.source == "none" and outcome.needs_pairing and "logged out" in outcome.detail
    assert store.health().status == "missing"


def test_an_empty_store_is_replaced_by_the_backup():
    store = make_paired_store("emptied")
    backup_create(session_name="emptied", reason="manual")
    make_empty_store("emptied")
    assert store.health().status == "empty"
    assert session_restore_chain(session_name="emptied").source == "backup"
    assert store.health().device_jid == JID


def test_a_sqlite_backup_restores_into_a_postgres_schema_and_back(is_postgres, settings, tmp_path):
    if not is_postgres:
        pytest.skip("needs PostgreSQL (run with a postgres DATABASE_URL)")
    pg = make_paired_store("cross")
    lite = SqliteStore("cross", tmp_path / "lite")
    archive_pg = archive_from_store(pg)
    store_restore_archive(store=lite, archive=archive_pg, keep_old=False)
    assert lite.health().device_jid == JID
    pg.wipe()
    store_restore_archive(store=pg, archive=archive_from_store(lite), keep_old=False)
    assert isinstance(store_for("cross"), PostgresStore)
    assert _rows(pg) == _rows(lite)
    assert neonize_devices(pg.dsn) == [JID]
    assert neonize_devices(lite.dsn) == [JID]
