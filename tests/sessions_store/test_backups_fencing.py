"""A backup written by a bot child carries its lease's fencing number: a stale child's is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now

from sessions_store.lease import lease_acquire
from sessions_store.models import SessionBackup, SessionLease
from sessions_store.services import backup_create
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.django_db


def take(token: str):
    return lease_acquire(session_name="default", holder_host="h", holder_pid=1, token=token, ttl=30)


def test_the_lease_holder_s_backup_is_stored() -> None:
    make_paired_store("default")
    lease = take("a")

    backup = backup_create(session_name="default", reason=SessionBackup.Reason.PAIRED, fencing=lease.fencing)

    assert backup is not None and backup.state == SessionBackup.State.VERIFIED


def test_a_backup_by_a_writer_whose_lease_moved_on_is_refused_and_stores_nothing(caplog) -> None:
    make_paired_store("default")
    old = take("a")
    SessionLease.objects.update(expires_at=ExpressionWrapper(Now() - timedelta(seconds=1), output_field=DateTimeField()))
    take("b")

    backup = backup_create(session_name="default", reason=SessionBackup.Reason.PAIRED, fencing=old.fencing)

    assert backup is None
    assert not SessionBackup.objects.exists()
    assert "backup refused: the lease moved on" in caplog.text
