"""The backup, restore and verify commands, as an operator runs them."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from sessions_store.models import SessionBackup

from .factories import make_empty_store, make_paired_store

pytestmark = pytest.mark.django_db


def _run(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_backup_session_reports_the_verified_backup():
    make_paired_store("cmd")
    out = _run("backup_session", "--session", "cmd")
    backup = SessionBackup.objects.get()
    assert f"backup #{backup.pk} verified" in out and backup.reason == "manual"


def test_backup_session_says_so_when_the_store_has_no_device_row():
    make_empty_store("unpaired")
    out = _run("backup_session", "--session", "unpaired", "--reason", "shutdown")
    assert "not backed up: the store is empty (no device row" in out
    assert not SessionBackup.objects.exists()


def test_backup_session_without_a_name_backs_up_every_known_session():
    make_paired_store("one")
    make_paired_store("two", jid="15550000002:1@s.whatsapp.net")
    _run("backup_session", "--session", "one")
    _run("backup_session", "--session", "two")
    out = _run("backup_session")
    assert "one: backup" in out and "two: backup" in out
    assert SessionBackup.objects.count() == 4


def test_restore_session_restores_a_wiped_store_and_keeps_a_healthy_one():
    store = make_paired_store("default")
    _run("backup_session", "--session", "default")
    assert "live store kept" in _run("restore_session")
    store.wipe()
    assert "restored backup #" in _run("restore_session")
    assert store.health().healthy


def test_restore_session_fails_when_the_session_needs_pairing():
    with pytest.raises(CommandError, match="needs pairing"):
        _run("restore_session", "--session", "lonely")


def test_restore_session_with_a_named_backup_and_force():
    make_paired_store("default")
    _run("backup_session")
    backup = SessionBackup.objects.get()
    with pytest.raises(CommandError, match="Nothing was restored"):
        _run("restore_session", "--backup", str(backup.pk))
    out = _run("restore_session", "--backup", str(backup.pk), "--force")
    assert f"restored backup #{backup.pk}" in out
    assert SessionBackup.objects.filter(reason="pre_restore", state="verified").exists()


def test_verify_backups_prints_a_table_and_fails_when_the_newest_is_corrupt():
    make_paired_store("default")
    _run("backup_session")
    _run("backup_session")
    out = _run("verify_backups")
    assert out.splitlines()[0].split()[:5] == ["id", "session", "created", "(UTC)", "reason"]
    assert out.count("verified") == 2
    newest = SessionBackup.objects.order_by("-created_at", "-id").first()
    stored = bytearray(SessionBackup.objects.get(pk=newest.pk).archive)
    stored[100] ^= 1
    SessionBackup.objects.filter(pk=newest.pk).update(archive=bytes(stored))
    with pytest.raises(CommandError, match="newest backup is corrupt for: default"):
        _run("verify_backups", "--session", "default")
    assert SessionBackup.objects.get(pk=newest.pk).state == "corrupt"


def test_verify_backups_with_no_backups_says_so():
    assert "No backups" in _run("verify_backups")
