"""Backup and restore locks on real rows: taken over at once from a dead or replaced holder, respected while it lives."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from sessions_store.holders import FOREIGN_STALE, process_started
from sessions_store.models import SessionLease, SessionLock
from sessions_store.services import (
    SessionLockBusy,
    session_get_or_create,
    session_lock,
    session_lock_acquire,
    session_lock_busy,
    session_lock_release,
)
from sessions_store.store import this_host

from .factories import dead_pid

pytestmark = pytest.mark.django_db


def _held_by(session, **holder) -> None:
    fields = {"token": "0123456789abcdef", "holder_host": this_host(), "acquired_at": timezone.now(), **holder}
    SessionLock.objects.update_or_create(session=session, kind="backup", defaults=fields)


def _lease(session, *, expires_in: float, pid: int | None = None) -> SessionLease:
    now = timezone.now()
    lease, _ = SessionLease.objects.update_or_create(
        session=session,
        defaults={
            "holder": "x",
            "holder_host": this_host(),
            "holder_pid": pid or os.getpid(),
            "token": "lease-token",
            "fencing": 4,
            "acquired_at": now,
            "renewed_at": now,
            "expires_at": now + timedelta(seconds=expires_in),
        },
    )
    return lease


def test_a_free_lock_is_taken_and_released():
    session = session_get_or_create(name="free")
    with session_lock(session=session, kind="restore") as lock:
        row = SessionLock.objects.get(session=session, kind="restore")
        assert row.token == lock.token and row.holder_pid == os.getpid() and row.holder_host == this_host()
        assert row.holder_started == process_started(os.getpid())
        assert row.lease_token == "" and row.lease_fencing is None
        assert session_lock_busy(session_name="free", kind="restore").startswith(f"{this_host()}:{os.getpid()}")
    assert SessionLock.objects.get(session=session, kind="restore").token == ""
    assert session_lock_busy(session_name="free", kind="restore") == ""


def test_a_live_holder_is_respected_and_named():
    session = session_get_or_create(name="live")
    lock = session_lock_acquire(session=session, kind="backup")
    with pytest.raises(
        SessionLockBusy, match=f"another backup of session live is running .{this_host()}:{os.getpid()}"
    ):
        session_lock_acquire(session=session, kind="backup")
    session_lock_acquire(session=session, kind="restore")  # the other kind is its own lock
    session_lock_release(lock=lock)
    session_lock_acquire(session=session, kind="backup")


def test_a_dead_holder_is_taken_over_at_once_and_the_log_says_why(caplog):
    session = session_get_or_create(name="dead")
    _held_by(session, holder_pid=dead_pid(), holder_started="boot/1")
    with caplog.at_level(logging.WARNING, logger="sessions_store.services"):
        lock = session_lock_acquire(session=session, kind="backup")
    assert SessionLock.objects.get(session=session, kind="backup").token == lock.token
    [record] = [r for r in caplog.records if r.getMessage() == "lock taken over"]
    assert record.reason == "its process is gone" and record.lock == "backup"


def test_a_reused_pid_is_taken_over():
    session = session_get_or_create(name="reused")
    _held_by(session, holder_pid=os.getpid(), holder_started="another-boot/1")  # our pid, another start
    session_lock_acquire(session=session, kind="backup")


def test_a_holder_whose_lease_lapsed_is_taken_over_though_it_lives():
    session = session_get_or_create(name="lapsed")
    _lease(session, expires_in=-1)
    _held_by(
        session,
        holder_pid=os.getpid(),
        holder_started=process_started(os.getpid()),
        lease_token="lease-token",
        lease_fencing=4,
    )
    session_lock_acquire(session=session, kind="backup")


def test_a_holder_with_a_current_lease_is_respected_even_from_another_host():
    session = session_get_or_create(name="leased")
    _lease(session, expires_in=30)
    _held_by(
        session,
        holder_host="elsewhere",
        holder_pid=1,
        lease_token="lease-token",
        lease_fencing=4,
        acquired_at=timezone.now() - 2 * FOREIGN_STALE,
    )
    with pytest.raises(SessionLockBusy):
        session_lock_acquire(session=session, kind="backup")
    SessionLease.objects.filter(session=session).update(fencing=5, token="next-holder")  # taken over
    session_lock_acquire(session=session, kind="backup")


def test_another_hosts_lock_without_a_lease_is_taken_over_after_the_stale_age():
    session = session_get_or_create(name="foreign")
    _held_by(session, holder_host="elsewhere", holder_pid=1, acquired_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(SessionLockBusy):
        session_lock_acquire(session=session, kind="backup")
    SessionLock.objects.filter(session=session).update(acquired_at=timezone.now() - FOREIGN_STALE)
    session_lock_acquire(session=session, kind="backup")


def test_the_lock_records_the_lease_when_this_process_holds_it():
    session = session_get_or_create(name="mine")
    _lease(session, expires_in=30)
    session_lock_acquire(session=session, kind="restore")
    row = SessionLock.objects.get(session=session, kind="restore")
    assert (row.lease_token, row.lease_fencing) == ("lease-token", 4)


def test_a_bot_child_records_its_supervisors_lease():
    session = session_get_or_create(name="parent")
    _lease(session, expires_in=30, pid=os.getppid())  # the supervisor is the lease holder, we its child
    session_lock_acquire(session=session, kind="backup")
    assert SessionLock.objects.get(session=session, kind="backup").lease_fencing == 4
