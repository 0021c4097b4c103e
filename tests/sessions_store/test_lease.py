"""The session lease: one holder at a time, takeover after expiry, renewal by compare-and-set.

Time is passed in (``now=``); nothing here waits for a clock.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError

from sessions_store import lease as lease_module
from sessions_store.lease import (
    LeaseKeeper,
    lease_acquire,
    lease_acquire_any,
    lease_current,
    lease_identity,
    lease_release,
    lease_renew,
    lease_wait,
)
from sessions_store.models import SessionLease, WhatsAppSession

T0 = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
TTL = 30

pytestmark = pytest.mark.django_db


def acquire(token: str, now: datetime, session_name: str = "default", pid: int = 100):
    return lease_acquire(session_name=session_name, holder_host="dyno", holder_pid=pid, token=token, ttl=TTL, now=now)


def test_it_takes_a_free_lease_and_creates_the_rows() -> None:
    lease = acquire("a", T0)

    assert lease is not None
    assert (lease.session_name, lease.fencing, lease.expires_at) == ("default", 1, T0 + timedelta(seconds=TTL))
    row = lease_current(session_name="default")
    assert row.token == "a" and row.fencing == 1 and row.holder == "dyno:100:a"
    assert WhatsAppSession.objects.filter(name="default").exists()


def test_a_second_holder_gets_nothing_while_the_lease_lives() -> None:
    acquire("a", T0)

    assert acquire("b", T0 + timedelta(seconds=29)) is None
    assert lease_current(session_name="default").token == "a"


def test_it_takes_over_an_expired_lease_and_increments_the_fencing_counter() -> None:
    first = acquire("a", T0)

    second = acquire("b", T0 + timedelta(seconds=TTL))

    assert second is not None and second.fencing == first.fencing + 1
    assert lease_current(session_name="default").token == "b"


def test_the_holder_asking_again_keeps_its_lease_and_fencing() -> None:
    first = acquire("a", T0)

    again = acquire("a", T0 + timedelta(seconds=10))

    assert again is not None and again.fencing == first.fencing
    assert again.expires_at == T0 + timedelta(seconds=10 + TTL)


def test_renewal_extends_the_lease_from_now() -> None:
    lease = acquire("a", T0)

    assert lease_renew(lease=lease, now=T0 + timedelta(seconds=10)) is True

    assert lease.expires_at == T0 + timedelta(seconds=40)
    assert lease_current(session_name="default").expires_at == T0 + timedelta(seconds=40)
    assert acquire("b", T0 + timedelta(seconds=35)) is None


def test_the_loser_learns_at_its_next_renewal_that_the_lease_was_taken() -> None:
    old = acquire("a", T0)
    new = acquire("b", T0 + timedelta(seconds=31))

    assert lease_renew(lease=old, now=T0 + timedelta(seconds=32)) is False
    assert lease_current(session_name="default").token == "b", "the failed renewal changed nothing"
    assert lease_renew(lease=new, now=T0 + timedelta(seconds=32)) is True


def test_renewal_fails_once_the_lease_has_expired_even_if_nobody_took_it() -> None:
    lease = acquire("a", T0)

    assert lease_renew(lease=lease, now=T0 + timedelta(seconds=TTL)) is False


def test_release_lets_a_standby_take_over_at_once() -> None:
    lease = acquire("a", T0)

    lease_release(lease=lease)

    assert acquire("b", T0 + timedelta(seconds=1)).fencing == 2


def test_releasing_a_lost_lease_does_not_touch_the_new_holder() -> None:
    old = acquire("a", T0)
    acquire("b", T0 + timedelta(seconds=31))

    lease_release(lease=old)

    row = lease_current(session_name="default")
    assert row.token == "b" and row.expires_at is not None


def test_of_two_takeovers_that_saw_the_same_row_only_one_wins() -> None:
    acquire("a", T0)
    later = T0 + timedelta(seconds=TTL + 1)
    seen = SessionLease.objects.get()  # both contenders read this row before either writes

    won = [
        lease_module._take(
            seen,
            session_name="default",
            holder_host="h",
            holder_pid=pid,
            token=tok,
            ttl=timedelta(seconds=TTL),
            now=later,
        )
        for pid, tok in ((1, "b"), (2, "c"))
    ]

    assert won[0] is not None and won[1] is None
    assert SessionLease.objects.get().token == "b"
    assert SessionLease.objects.get().fencing == 2


def test_acquire_any_takes_the_first_free_session_and_skips_held_ones() -> None:
    acquire("other", T0, session_name="alpha")

    lease = lease_acquire_any(
        session_names=["gamma", "alpha", "beta"], holder_host="h", holder_pid=1, token="me", ttl=TTL, now=T0
    )
    second = lease_acquire_any(
        session_names=["gamma", "alpha", "beta"], holder_host="h", holder_pid=1, token="me2", ttl=TTL, now=T0
    )
    third = lease_acquire_any(
        session_names=["gamma", "alpha", "beta"], holder_host="h", holder_pid=1, token="me3", ttl=TTL, now=T0
    )

    assert (lease.session_name, second.session_name, third) == ("beta", "gamma", None)


def test_it_rejects_a_session_name_that_is_not_a_slug_and_a_ttl_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="slug"):
        acquire("a", T0, session_name="no spaces")
    with pytest.raises(ValueError, match="ttl"):
        lease_acquire(session_name="default", holder_host="h", holder_pid=1, token="a", ttl=0, now=T0)


def test_lease_identity_names_this_process() -> None:
    import os

    identity = lease_identity()

    assert identity["holder_pid"] == os.getpid() and len(identity["token"]) == 32
    assert lease_identity()["token"] != identity["token"]


class TestLeaseKeeper:
    def keeper(self, lease, lost: list[str], **kwargs) -> LeaseKeeper:
        return LeaseKeeper(lease=lease, on_lost=lost.append, interval=10, clock=lambda: T0, **kwargs)

    def test_it_renews_every_interval_and_not_before(self) -> None:
        lost: list[str] = []
        keeper = self.keeper(acquire("a", T0), lost)

        assert keeper.step(T0 + timedelta(seconds=9)) is True and keeper.renewals == 0
        assert keeper.step(T0 + timedelta(seconds=10)) is True and keeper.renewals == 1
        assert keeper.step(T0 + timedelta(seconds=19)) is True and keeper.renewals == 1
        assert keeper.step(T0 + timedelta(seconds=20)) is True and keeper.renewals == 2
        assert lease_current(session_name="default").expires_at == T0 + timedelta(seconds=50)
        assert lost == []

    def test_it_calls_back_at_once_when_the_lease_was_stolen(self, caplog) -> None:
        lost: list[str] = []
        keeper = self.keeper(acquire("a", T0), lost)
        lease_release(lease=keeper.lease)  # e.g. an operator freed it, and a standby took it
        acquire("b", T0 + timedelta(seconds=1))

        with caplog.at_level(logging.ERROR):
            assert keeper.step(T0 + timedelta(seconds=10)) is False

        assert lost == ["stolen"] and keeper.held is False
        assert keeper.step(T0 + timedelta(seconds=20)) is False and lost == ["stolen"], "called back only once"
        assert "lease lost" in caplog.text

    def test_a_passing_database_error_is_retried_soon_and_costs_nothing(self, monkeypatch) -> None:
        lost: list[str] = []
        keeper = self.keeper(acquire("a", T0), lost, retry_interval=2)
        real = lease_module.lease_renew
        calls = []

        def flaky(**kwargs):
            calls.append(kwargs["now"])
            if len(calls) == 1:
                raise OperationalError("could not connect to server")
            return real(**kwargs)

        monkeypatch.setattr(lease_module, "lease_renew", flaky)

        assert keeper.step(T0 + timedelta(seconds=10)) is True and keeper.renewals == 0
        assert keeper.step(T0 + timedelta(seconds=11)) is True and keeper.renewals == 0, "waits for the retry"
        assert keeper.step(T0 + timedelta(seconds=12)) is True and keeper.renewals == 1
        assert lost == [] and calls == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=12)]

    def test_a_stalled_loop_that_wakes_after_expiry_gives_the_lease_up(self) -> None:
        lost: list[str] = []
        keeper = self.keeper(acquire("a", T0), lost)

        assert keeper.step(T0 + timedelta(seconds=45)) is False
        assert lost == ["expired"]

    def test_database_errors_are_retried_and_lose_the_lease_before_it_expires(self, monkeypatch) -> None:
        lost: list[str] = []
        keeper = self.keeper(acquire("a", T0), lost, retry_interval=2)

        def broken(**kwargs):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(lease_module, "lease_renew", broken)
        now = T0 + timedelta(seconds=10)
        steps = []
        while not lost:
            steps.append(now)
            keeper.step(now)
            now += timedelta(seconds=1)

        given_up_at = steps[-1]
        assert lost == ["database_unreachable"]
        assert given_up_at >= T0 + timedelta(seconds=18), "transient errors are retried first"
        assert given_up_at <= T0 + timedelta(seconds=TTL - 10), "the child is stopped a third of the TTL early"


@pytest.mark.django_db(transaction=True)
def test_on_its_own_thread_it_reports_a_stolen_lease() -> None:
    lost = threading.Event()
    reasons: list[str] = []
    lease = acquire("a", T0)
    clock = {"now": T0}
    keeper = LeaseKeeper(
        lease=lease,
        on_lost=lambda reason: (reasons.append(reason), lost.set()),
        interval=10,
        clock=lambda: clock["now"],
    )
    lease_release(lease=lease)
    acquire("b", T0)
    clock["now"] = T0 + timedelta(seconds=10)

    keeper.start(tick=0.01)
    assert lost.wait(10)
    keeper.stop()

    assert reasons == ["stolen"]


@pytest.mark.django_db(transaction=True)
def test_on_its_own_thread_it_renews_through_its_own_connection() -> None:
    done = threading.Event()
    lease = acquire("a", T0)
    clock = {"now": T0 + timedelta(seconds=10)}
    keeper = LeaseKeeper(lease=lease, on_lost=lambda reason: None, interval=10, clock=lambda: clock["now"])
    keeper.next_at = T0 + timedelta(seconds=10)
    original = keeper.step

    def step(now=None):
        held = original(now)
        if keeper.renewals:
            done.set()
        return held

    keeper.step = step
    keeper.start(tick=0.01)
    assert done.wait(10)
    keeper.stop()

    assert lease_current(session_name="default").expires_at == T0 + timedelta(seconds=40)


class TestLeaseWait:
    def test_it_stands_by_until_the_holder_lapses_then_takes_over(self, caplog) -> None:
        acquire("a", T0)
        clock = {"now": T0}
        waits: list[float] = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            clock["now"] += timedelta(seconds=seconds)
            return False

        with caplog.at_level(logging.INFO, logger="sessions_store.lease"):
            lease = lease_wait(
                session_name="default",
                holder_host="standby",
                holder_pid=2,
                token="b",
                ttl=TTL,
                poll=5,
                wait=wait,
                clock=lambda: clock["now"],
            )

        assert lease is not None and lease.token == "b" and lease.fencing == 2
        assert lease.acquired_at == T0 + timedelta(seconds=TTL), "taken at the first poll after expiry"
        assert waits == [5] * 6
        messages = [r.getMessage() for r in caplog.records]
        assert messages.count("standing by") == 1
        assert "standby took over" in messages
        standing = next(r for r in caplog.records if r.getMessage() == "standing by")
        assert standing.holder == "dyno:100:a"

    def test_it_takes_a_free_lease_without_standing_by(self, caplog) -> None:
        with caplog.at_level(logging.INFO, logger="sessions_store.lease"):
            lease = lease_wait(
                session_name="default", holder_host="h", holder_pid=1, token="a", ttl=TTL, wait=lambda s: True
            )

        assert lease is not None
        assert "standing by" not in caplog.text

    def test_it_gives_up_when_told_to_stop(self) -> None:
        acquire("a", T0)

        lease = lease_wait(
            session_name="default",
            holder_host="h",
            holder_pid=2,
            token="b",
            ttl=TTL,
            wait=lambda s: True,
            clock=lambda: T0,
        )

        assert lease is None
