"""Backups: verified before visible, one at a time, skipped when there is nothing to keep, rotated."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from sessions_store import crypto
from sessions_store.models import SessionBackup, SessionLock, WhatsAppSession
from sessions_store.services import (
    backup_create,
    backup_open,
    backups_rotate,
    backups_verify,
    session_get_or_create,
    session_lock_acquire,
)
from sessions_store.snapshot import archive_from_store

from .factories import make_empty_store, make_paired_store, store_insert

pytestmark = pytest.mark.django_db


def _corrupt(backup: SessionBackup) -> None:
    stored = bytearray(SessionBackup.objects.get(pk=backup.pk).archive)
    stored[len(stored) // 2] ^= 0xFF
    SessionBackup.objects.filter(pk=backup.pk).update(archive=bytes(stored))


def test_it_creates_a_verified_backup_that_opens_to_the_same_rows():
    store = make_paired_store("alpha")
    backup = backup_create(session_name="alpha", reason="manual")
    assert backup is not None and backup.state == SessionBackup.State.VERIFIED
    assert backup.verified_at is not None
    assert backup.device_jid == "15551234567:12@s.whatsapp.net"
    assert backup.source_backend == store.backend
    assert backup.stored_size == len(bytes(SessionBackup.objects.get(pk=backup.pk).archive))
    assert backup.sha256 == crypto.sha256_hex(bytes(SessionBackup.objects.get(pk=backup.pk).archive))
    assert backup.key_id == crypto.current_key_id()
    assert backup.row_counts["whatsmeow_pre_keys"] == 50
    archive = backup_open(backup=backup)
    live = archive_from_store(store)
    assert {t.name: t.rows for t in archive.tables} == {t.name: t.rows for t in live.tables}
    assert WhatsAppSession.objects.get(name="alpha").last_backup_at == backup.created_at


def test_a_store_without_a_device_row_is_not_backed_up(caplog):
    make_empty_store("unpaired")
    with caplog.at_level(logging.INFO, logger="sessions_store.services"):
        assert backup_create(session_name="unpaired", reason="manual") is None
    assert any("no device row" in getattr(r, "reason", "") for r in caplog.records)
    assert not SessionBackup.objects.exists()


def test_a_missing_store_is_not_backed_up():
    assert backup_create(session_name="ghost", reason="scheduled") is None
    assert not SessionBackup.objects.exists()


def test_a_second_backup_while_one_runs_is_skipped(caplog):
    make_paired_store("busy")
    session = session_get_or_create(name="busy")
    session_lock_acquire(session=session, kind=SessionLock.Kind.BACKUP)  # this (live) process holds it
    with caplog.at_level(logging.INFO, logger="sessions_store.services"):
        assert backup_create(session_name="busy", reason="manual") is None
    assert any("another backup" in getattr(r, "reason", "") for r in caplog.records)
    assert not SessionBackup.objects.exists()


def test_the_lock_is_released_after_a_backup():
    make_paired_store("twice")
    assert backup_create(session_name="twice", reason="manual").state == "verified"
    assert backup_create(session_name="twice", reason="manual").state == "verified"
    assert SessionLock.objects.get(session__name="twice", kind="backup").token == ""


def test_a_scheduled_backup_of_an_unchanged_store_is_skipped_and_a_changed_one_is_taken():
    store = make_paired_store("calm")
    first = backup_create(session_name="calm", reason="scheduled")
    assert first.state == "verified"
    later = timezone.now() + timedelta(minutes=15)
    with time_machine.travel(later, tick=False):
        assert backup_create(session_name="calm", reason="scheduled") is None
    assert WhatsAppSession.objects.get(name="calm").last_backup_at == later  # still backed up, as of now
    store_insert(store, {"whatsmeow_lid_map": [("77@lid", "77@s.whatsapp.net")]})
    assert backup_create(session_name="calm", reason="scheduled").state == "verified"
    assert SessionBackup.objects.count() == 2


def test_rotation_keeps_exactly_the_newest_n_verified_backups(settings):
    settings.SESSION_BACKUP_KEEP = 3
    make_paired_store("rot")
    made = []
    start = timezone.now()
    for i in range(5):
        with time_machine.travel(start + timedelta(minutes=i), tick=False):
            made.append(backup_create(session_name="rot", reason="manual").pk)
    kept = list(SessionBackup.objects.filter(state="verified").order_by("-created_at").values_list("pk", flat=True))
    assert kept == made[::-1][:3]


def test_rotation_never_deletes_the_last_verified_backup_and_drops_old_failures():
    make_paired_store("keep")
    good = backup_create(session_name="keep", reason="manual")
    session = WhatsAppSession.objects.get(name="keep")
    old = timezone.now() - timedelta(days=2)
    failed = SessionBackup.objects.create(session=session, reason="manual", state="failed", created_at=old)
    corrupt = SessionBackup.objects.create(session=session, reason="manual", state="corrupt", created_at=old)
    fresh = SessionBackup.objects.create(session=session, reason="manual", state="failed")
    assert backups_rotate(session_name="keep", keep=0) == 2
    remaining = set(SessionBackup.objects.values_list("pk", flat=True))
    assert remaining == {good.pk, fresh.pk}
    assert failed.pk not in remaining and corrupt.pk not in remaining


def test_verify_marks_a_damaged_backup_corrupt_and_keeps_the_good_one():
    make_paired_store("ver")
    good = backup_create(session_name="ver", reason="manual")
    bad = backup_create(session_name="ver", reason="manual")
    _corrupt(bad)
    results = {r.backup_id: r for r in backups_verify(session_name="ver")}
    assert results[good.pk].ok and results[good.pk].state == "verified"
    assert not results[bad.pk].ok and "checksum" in results[bad.pk].detail
    assert SessionBackup.objects.get(pk=bad.pk).state == "corrupt"


def test_a_backup_made_with_another_key_fails_verification_with_the_key_named(settings):
    make_paired_store("keys")
    settings.SESSION_ENCRYPTION_KEY = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    backup = backup_create(session_name="keys", reason="manual")
    settings.SESSION_ENCRYPTION_KEY = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
    [result] = backups_verify(session_name="keys")
    assert result.backup_id == backup.pk and not result.ok
    assert f"key id {backup.key_id}" in result.detail


def test_a_snapshot_that_cannot_be_read_leaves_a_failed_row(monkeypatch):
    make_paired_store("oops")
    from sessions_store.services import backups
    from sessions_store.store import StoreError

    def broken(store):
        raise StoreError("disk said no")

    monkeypatch.setattr(backups, "archive_from_store", broken)
    backup = backup_create(session_name="oops", reason="manual")
    assert backup.state == "failed" and backup.state_reason == "disk said no"
    assert not SessionBackup.objects.filter(state="verified").exists()
