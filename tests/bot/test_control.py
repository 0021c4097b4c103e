"""The control table: requests are recorded with who asked, run once, oldest first, and their outcome kept."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from bot.control import (
    ControlError,
    control_pending_exists,
    control_record,
    control_request,
    control_run_pending,
)
from bot.models import ControlCommand
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_it_records_the_request_with_who_asked() -> None:
    user = operator("ops", "bot.request_backup")
    command = control_request(session_name="default", action="backup", args={"reason": "manual"}, user=user)
    command.refresh_from_db()
    assert command.state == ControlCommand.State.PENDING
    assert command.requested_by == user
    assert command.args == {"reason": "manual"}
    assert command.requested_at is not None


def test_it_refuses_an_unknown_action_and_an_empty_session() -> None:
    with pytest.raises(ControlError, match="unknown control action 'reboot'"):
        control_request(session_name="default", action="reboot")
    with pytest.raises(ControlError, match="session name"):
        control_request(session_name=" ", action="backup")
    with pytest.raises(ControlError, match="JSON object"):
        control_request(session_name="default", action="backup", args=["x"])  # type: ignore[arg-type]
    assert ControlCommand.objects.count() == 0


def test_it_runs_pending_requests_oldest_first_and_stores_the_outcome() -> None:
    seen: list[str] = []
    with time_machine.travel(T0, tick=False):
        first = control_request(session_name="default", action="backup")
    with time_machine.travel(T0 + timedelta(seconds=5), tick=False):
        second = control_request(session_name="default", action="reconnect")
        other = control_request(session_name="other", action="restart")

    def backup(cmd: ControlCommand) -> str:
        seen.append(cmd.action)
        return "backup #7 verified"

    def reconnect(cmd: ControlCommand) -> str:
        seen.append(cmd.action)
        return "reconnect asked"

    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        ran = control_run_pending(session_name="default", actions={"backup": backup, "reconnect": reconnect})
    assert ran == 2
    assert seen == ["backup", "reconnect"]
    first.refresh_from_db()
    second.refresh_from_db()
    other.refresh_from_db()
    assert (first.state, first.result) == ("done", "backup #7 verified")
    assert first.started_at == first.finished_at == T0 + timedelta(seconds=10)
    assert second.state == "done"
    assert other.state == "pending"  # another session's request is not ours to run
    assert control_run_pending(session_name="default", actions={"backup": backup}) == 0


def test_a_failing_handler_is_recorded_and_does_not_stop_the_next() -> None:
    broken = control_request(session_name="default", action="verify")
    fine = control_request(session_name="default", action="backup")

    def verify(cmd: ControlCommand) -> str:
        raise RuntimeError("backup #3 checksum mismatch")

    ran = control_run_pending(session_name="default", actions={"verify": verify, "backup": lambda cmd: "ok"})
    assert ran == 2
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert broken.state == "failed"
    assert broken.result == "RuntimeError: backup #3 checksum mismatch"
    assert broken.finished_at is not None
    assert fine.state == "done"


def test_an_action_without_a_handler_fails_with_a_message() -> None:
    command = control_request(session_name="default", action="refresh_qr")
    assert control_run_pending(session_name="default", actions={}) == 1
    command.refresh_from_db()
    assert command.state == "failed"
    assert "no handler for 'refresh_qr'" in command.result


def test_a_request_nobody_picked_up_for_an_hour_expires_instead_of_running_late() -> None:
    with time_machine.travel(T0, tick=False):
        old = control_request(session_name="default", action="restart")
    calls: list[int] = []
    with time_machine.travel(T0 + timedelta(hours=1, minutes=1), tick=False):
        ran = control_run_pending(session_name="default", actions={"restart": lambda cmd: calls.append(1) or "x"})
    assert ran == 0
    assert calls == []
    old.refresh_from_db()
    assert old.state == "failed"
    assert old.result.startswith("expired")


def test_a_request_left_running_by_a_dead_process_is_marked_interrupted() -> None:
    with time_machine.travel(T0, tick=False):
        command = control_request(session_name="default", action="backup")
        ControlCommand.objects.filter(pk=command.pk).update(state="running", started_at=T0)
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        control_run_pending(session_name="default", actions={})
    command.refresh_from_db()
    assert command.state == "failed"
    assert command.result.startswith("interrupted")


def test_a_row_claimed_by_another_poller_in_between_is_not_run_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The claim is a compare-and-set: if the row left `pending` after we read it, we skip it."""
    command = control_request(session_name="default", action="backup")
    real_filter = ControlCommand.objects.filter
    raced = {"done": False}

    def racing_filter(*args, **kwargs):
        if kwargs.get("pk") == command.pk and not raced["done"]:
            raced["done"] = True
            real_filter(pk=command.pk).update(state="running", result="taken by the other poller")
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(ControlCommand.objects, "filter", racing_filter)
    calls: list[int] = []
    ran = control_run_pending(session_name="default", actions={"backup": lambda cmd: calls.append(1) or "x"})
    assert ran == 0
    assert calls == []
    command.refresh_from_db()
    assert command.result == "taken by the other poller"


def test_at_most_limit_requests_run_per_call() -> None:
    for _ in range(5):
        control_request(session_name="default", action="backup")
    assert control_run_pending(session_name="default", actions={"backup": lambda cmd: "ok"}, limit=3) == 3
    assert ControlCommand.objects.filter(state="pending").count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.DB_IS_POSTGRES,
    reason="row locks between concurrent pollers need PostgreSQL (SQLite serialises writers)",
)
def test_two_concurrent_pollers_on_postgresql_run_each_request_exactly_once() -> None:
    ids = [control_request(session_name="default", action="backup").pk for _ in range(40)]
    ran_ids: list[int] = []
    lock = threading.Lock()

    def handler(cmd: ControlCommand) -> str:
        with lock:
            ran_ids.append(cmd.pk)
        return "ok"

    counts: list[int] = []

    def poll() -> None:
        try:
            counts.append(control_run_pending(session_name="default", actions={"backup": handler}, limit=100))
        finally:
            connection.close()

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(ran_ids) == sorted(ids)
    assert sum(counts) == 40
    assert ControlCommand.objects.filter(state="done").count() == 40


def test_control_record_runs_now_and_keeps_who_and_the_outcome() -> None:
    user = operator("ops", "bot.verify_backups")
    done = control_record(session_name="default", action="verify", run=lambda: "3 verified", user=user)
    failed = control_record(
        session_name="default", action="verify", run=lambda: (_ for _ in ()).throw(OSError("disk gone")), user=user
    )
    done.refresh_from_db()
    failed.refresh_from_db()
    assert (done.state, done.result, done.requested_by) == ("done", "3 verified", user)
    assert done.started_at is not None and done.finished_at is not None
    assert (failed.state, failed.result) == ("failed", "OSError: disk gone")
    assert control_run_pending(session_name="default", actions={}) == 0  # nothing left for the bot


def test_control_pending_exists_sees_only_waiting_requests() -> None:
    assert not control_pending_exists(session_name="default", action="restart")
    command = control_request(session_name="default", action="restart")
    assert control_pending_exists(session_name="default", action="restart")
    assert not control_pending_exists(session_name="other", action="restart")
    ControlCommand.objects.filter(pk=command.pk).update(state="done")
    assert not control_pending_exists(session_name="default", action="restart")
