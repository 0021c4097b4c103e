"""The scheduled backup and the daily verification."""

from __future__ import annotations

import logging

import pytest

from blacksky_site.schedules import declared_schedules
from sessions_store.models import SessionBackup, WhatsAppSession
from sessions_store.services import backup_create, session_get_or_create
from sessions_store.store import SqliteStore, store_for
from sessions_store.tasks import backup_scheduled_task, verify_daily_task

from .factories import make_paired_store

pytestmark = pytest.mark.django_db


def test_the_schedules_back_up_every_interval_and_verify_daily(settings):
    specs = {s.name: s for s in declared_schedules()}
    backup = specs["sessions_store.backup"]
    assert backup.func == "sessions_store.tasks.backup_scheduled_task"
    assert (backup.schedule_type, backup.minutes) == ("I", settings.SESSION_BACKUP_INTERVAL)
    assert specs["sessions_store.verify"].schedule_type == "D"


def test_the_scheduled_backup_backs_up_each_session_once_per_change():
    make_paired_store("sched")
    session_get_or_create(name="sched")
    assert backup_scheduled_task()["verified"] == ["sched"]
    assert backup_scheduled_task()["skipped"] == ["sched"]  # unchanged
    assert SessionBackup.objects.filter(reason="scheduled").count() == 1


def test_a_sqlite_store_on_another_machine_is_skipped_with_a_reason(caplog):
    if not isinstance(store_for("x"), SqliteStore):
        pytest.skip("SQLite stores only")
    make_paired_store("remote")
    session_get_or_create(name="remote")
    WhatsAppSession.objects.filter(name="remote").update(store_host="worker-dyno-7")
    with caplog.at_level(logging.INFO, logger="sessions_store.tasks"):
        assert backup_scheduled_task()["skipped"] == ["remote"]
    assert any("worker-dyno-7" in getattr(r, "reason", "") for r in caplog.records)
    assert not SessionBackup.objects.exists()


def test_a_session_whose_sqlite_file_is_not_here_is_skipped():
    if not isinstance(store_for("x"), SqliteStore):
        pytest.skip("SQLite stores only")
    session_get_or_create(name="elsewhere")
    assert backup_scheduled_task()["skipped"] == ["elsewhere"]


def test_the_daily_verification_counts_and_rotates(settings):
    make_paired_store("daily")
    backup_create(session_name="daily", reason="manual")
    backup_create(session_name="daily", reason="manual")
    settings.SESSION_BACKUP_KEEP = 1
    summary = verify_daily_task()
    assert summary == {"ok": 2, "corrupt": 0, "removed": 1}
    assert SessionBackup.objects.count() == 1
