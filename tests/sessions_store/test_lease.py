"""The session lease: one holder at a time, takeover after expiry, renewal by compare-and-set.

The database's clock decides expiry: a lease is "expired" here by moving its row's ``expires_at``
into the database's past, never by handing the code a later time. Holders count in monotonic
seconds, injected as a hand clock; nothing here waits for a real one.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now
from django.utils import timezone

from sessions_store import lease as lease_module
from sessions_store.lease import (
    StaleFencing,
    lease_acquire,
    lease_acquire_any,
    lease_current,
    lease_db_now,
    lease_fence_check,
    lease_release,
    lease_renew,
)
from sessions_store.lease_keeper import LeaseKeeper, lease_wait
from sessions_store.models import SessionLease, WhatsAppSession

TTL = 30

pytestmark = pytest.mark.django_db


class Hand:
    """A monotonic clock moved by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def acquire(token: str, session_name: str = "default", pid: int = 100, clock: Hand | None = None):
    return lease_acquire(
        session_name=session_name, holder_host="dyno", holder_pid=pid, token=token, ttl=TTL, clock=clock or Hand()
    )


def expire(session_name: str = "default") -> None:
    """The database's clock passes the lease's expiry (as after TTL seconds without renewal)."""
    past = ExpressionWrapper(Now() - timedelta(seconds=1), output_field=DateTimeField())
    SessionLease.objects.filter(session__name=session_name).update(expires_at=past)


def test_it_takes_a_free_lease_and_creates_the_rows() -> None:
    lease = acquire("a", clock=Hand(1000.0))

    assert lease is not None
    assert (lease.session_name, lease.fencing, lease.valid_until) == ("default", 1, 1000.0 + TTL)
    row = lease_current(session_name="default")
    assert row.token == "a" and row.fencing == 1 and row.holder == "dyno:100:a"
    assert abs((row.expires_at - row.acquired_at).total_seconds() - TTL) < 0.01, "expiry = database now + TTL"
    assert WhatsAppSession.objects.filter(name="default").exists()


def test_a_second_holder_gets_nothing_while_the_lease_lives() -> None:
    acquire("a")

    assert acquire("b") is None
    assert lease_current(session_name="default").token == "a"


def test_a_wall_clock_hours_ahead_does_not_make_a_live_lease_look_expired(monkeypatch) -> None:
    acquire("a")
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(hours=3))

    assert acquire("b", clock=Hand(10**9)) is None, "expiry is compared on the database's clock only"


def test_it_takes_over_an_expired_lease_and_increments_the_fencing_counter() -> None:
    first = acquire("a")
    expire()

    second = acquire("b")

    assert second is not None and second.fencing == first.fencing + 1
    assert lease_current(session_name="default").token == "b"


def test_the_holder_asking_again_keeps_its_lease_and_fencing() -> None:
    first = acquire("a", clock=Hand(1000.0))

    again = acquire("a", clock=Hand(1010.0))

    assert again is not None and again.fencing == first.fencing
    assert again.valid_until == 1010.0 + TTL


def test_renewal_extends_the_lease_and_its_local_bound_from_when_it_was_sent() -> None:
    lease = acquire("a", clock=Hand(1000.0))
    before = lease_current(session_name="default").expires_at

    assert lease_renew(lease=lease, clock=Hand(1010.0)) is True

    assert lease.valid_until == 1010.0 + TTL
    assert lease_current(session_name="default").expires_at >= before
    assert lease.expires_at == lease_current(session_name="default").expires_at


def test_the_loser_learns_at_its_next_renewal_that_the_lease_was_taken() -> None:
    old = acquire("a")
    expire()
    new = acquire("b")

    assert lease_renew(lease=old) is False
    assert lease_current(session_name="default").token == "b", "the failed renewal changed nothing"
    assert lease_renew(lease=new) is True


def test_renewal_fails_once_the_lease_has_expired_even_if_nobody_took_it() -> None:
    lease = acquire("a")
    expire()

    assert lease_renew(lease=lease) is False


def test_release_lets_a_standby_take_over_at_once() -> None:
    lease = acquire("a")

    lease_release(lease=lease)

    assert acquire("b").fencing == 2
    assert lease.valid_until == 0.0, "a released lease proves nothing any more"


def test_releasing_a_lost_lease_does_not_touch_the_new_holder() -> None:
    old = acquire("a")
    expire()
    acquire("b")

    lease_release(lease=old)

    row = lease_current(session_name="default")
    assert row.token == "b" and row.expires_at is not None


def test_of_two_takeovers_that_saw_the_same_row_only_one_wins() -> None:
    acquire("a")
    expire()
    seen = SessionLease.objects.get()  # both contenders read this row before either writes

    won = [
        lease_module._take(
            seen,
            session_name="default",
            holder_host="h",
            holder_pid=pid,
            token=tok,
            ttl=timedelta(seconds=TTL),
            sent=0.0,
        )
        for pid, tok in ((1, "b"), (2, "c"))
    ]

    assert won[0] is not None and won[1] is None
    assert SessionLease.objects.get().token == "b"
    assert SessionLease.objects.get().fencing == 2


def test_acquire_any_takes_the_first_free_session_and_skips_held_ones() -> None:
    acquire("other", session_name="alpha")
    names = ["gamma", "alpha", "beta"]

    leases = [
        lease_acquire_any(session_names=names, holder_host="h", holder_pid=1, token=token, ttl=TTL)
        for token in ("me", "me2", "me3")
    ]

    assert (leases[0].session_name, leases[1].session_name, leases[2]) == ("beta", "gamma", None)


def test_it_rejects_a_session_name_that_is_not_a_slug_and_a_ttl_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="slug"):
        acquire("a", session_name="no spaces")
    with pytest.raises(ValueError, match="ttl"):
        lease_acquire(session_name="default", holder_host="h", holder_pid=1, token="a", ttl=0)


def test_the_database_clock_is_read_from_the_database() -> None:
    acquire("a")

    assert abs((lease_db_now() - timezone.now()).total_seconds()) < 5


class TestFenceCheck:
    def test_the_current_holder_may_write(self) -> None:
        lease = acquire("a")

        lease_fence_check(session_name="default", fencing=lease.fencing)

    def test_a_writer_from_before_a_takeover_is_refused(self) -> None:
        old = acquire("a")
        expire()
        acquire("b")

        with pytest.raises(StaleFencing, match="fencing 1 is stale"):
            lease_fence_check(session_name="default", fencing=old.fencing)


class TestLeaseKeeper:
    def keeper(self, lease, lost: list[str], clock: Hand, **kwargs) -> LeaseKeeper:
        return LeaseKeeper(lease=lease, on_lost=lost.append, interval=10, clock=clock, **kwargs)

    def test_it_renews_every_interval_and_not_before(self) -> None:
        lost: list[str] = []
        clock = Hand(1000.0)
        renewed: list[float] = []
        keeper = self.keeper(
            acquire("a", clock=clock), lost, clock, on_renewed=lambda held: renewed.append(held.valid_until)
        )

        assert keeper.step(1009.0) is True and keeper.renewals == 0
        assert keeper.step(1010.0) is True and keeper.renewals == 1
        assert keeper.step(1019.0) is True and keeper.renewals == 1
        assert keeper.step(1020.0) is True and keeper.renewals == 2
        assert keeper.lease.valid_until == 1020.0 + TTL
        assert renewed == [1010.0 + TTL, 1020.0 + TTL], "each renewal hands on the new bound"
        assert lost == []

    def test_it_calls_back_at_once_when_the_lease_was_stolen(self, caplog) -> None:
        lost: list[str] = []
        clock = Hand(1000.0)
        keeper = self.keeper(acquire("a", clock=clock), lost, clock)
        lease_release(lease=keeper.lease)  # e.g. an operator freed it, and a standby took it
        keeper.lease.valid_until = 1000.0 + TTL
        acquire("b")

        with caplog.at_level(logging.ERROR):
            assert keeper.step(1010.0) is False

        assert lost == ["stolen"] and keeper.held is False
        assert keeper.step(1020.0) is False and lost == ["stolen"], "called back only once"
        assert "lease lost" in caplog.text

    def test_a_passing_database_error_is_retried_soon_and_costs_nothing(self, monkeypatch) -> None:
        lost: list[str] = []
        clock = Hand(1000.0)
        keeper = self.keeper(acquire("a", clock=clock), lost, clock, retry_interval=2)
        real = lease_module.lease_renew
        calls: list[float] = []

        def flaky(**kwargs):
            calls.append(kwargs["clock"]())
            if len(calls) == 1:
                raise OperationalError("could not connect to server")
            return real(**kwargs)

        monkeypatch.setattr(lease_module, "lease_renew", flaky)

        assert keeper.step(1010.0) is True and keeper.renewals == 0
        assert keeper.step(1011.0) is True and keeper.renewals == 0, "waits for the retry"
        assert keeper.step(1012.0) is True and keeper.renewals == 1
        assert lost == [] and calls == [1010.0, 1012.0]

    def test_a_paused_holder_that_wakes_past_its_bound_gives_the_lease_up_without_renewing(self, monkeypatch) -> None:
        lost: list[str] = []
        clock = Hand(1000.0)
        keeper = self.keeper(acquire("a", clock=clock), lost, clock)
        monkeypatch.setattr(lease_module, "lease_renew", lambda **kw: pytest.fail("a stale holder must not renew"))

        assert keeper.step(1000.0 + TTL + 15) is False
        assert lost == ["expired"]

    def test_database_errors_are_retried_and_lose_the_lease_before_it_expires(self, monkeypatch) -> None:
        lost: list[str] = []
        clock = Hand(1000.0)
        keeper = self.keeper(acquire("a", clock=clock), lost, clock, retry_interval=2)

        def broken(**kwargs):
            raise OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(lease_module, "lease_renew", broken)
        now = 1010.0
        steps = []
        while not lost:
            steps.append(now)
            keeper.step(now)
            now += 1.0

        given_up_at = steps[-1]
        assert lost == ["database_unreachable"]
        assert given_up_at >= 1018.0, "transient errors are retried first"
        assert given_up_at <= 1000.0 + TTL - 10, "the child is stopped a third of the TTL early"


@pytest.mark.django_db(transaction=True)
def test_on_its_own_thread_it_reports_a_stolen_lease() -> None:
    lost = threading.Event()
    reasons: list[str] = []
    clock = Hand(1000.0)
    lease = acquire("a", clock=clock)
    keeper = LeaseKeeper(
        lease=lease, on_lost=lambda reason: (reasons.append(reason), lost.set()), interval=10, clock=clock
    )
    lease_release(lease=lease)
    lease.valid_until = 1000.0 + TTL
    acquire("b")
    clock.now = 1010.0

    keeper.start(tick=0.01)
    assert lost.wait(10)
    keeper.stop()

    assert reasons == ["stolen"]


@pytest.mark.django_db(transaction=True)
def test_on_its_own_thread_it_renews_through_its_own_connection() -> None:
    done = threading.Event()
    clock = Hand(1000.0)
    lease = acquire("a", clock=clock)
    keeper = LeaseKeeper(
        lease=lease, on_lost=lambda reason: None, interval=10, clock=clock, on_renewed=lambda held: done.set()
    )
    clock.now = 1010.0

    keeper.start(tick=0.01)
    assert done.wait(10)
    keeper.stop()

    assert lease.valid_until == 1010.0 + TTL
    row = lease_current(session_name="default")
    assert row.expires_at > row.acquired_at + timedelta(seconds=TTL - 1)


class TestLeaseWait:
    def test_a_released_lease_is_taken_within_a_second_whatever_the_ttl(self) -> None:
        # A SIGTERM'd owner releases at once: the standby's poll, not the TTL, bounds the handover.
        held = acquire("a")
        waits: list[float] = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            lease_release(lease=held)
            return False

        lease = lease_wait(session_name="default", holder_host="standby", holder_pid=2, token="b", ttl=30, wait=wait)
        assert lease is not None and lease.token == "b"
        assert waits == [1.0]

    def test_with_looks_in_between_a_released_lease_is_taken_at_the_next_look_not_the_next_poll(self) -> None:
        held = acquire("a")
        waits: list[float] = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            if len(waits) == 2:
                lease_release(lease=held)  # the owner's SIGTERM, between two looks
            return False

        lease = lease_wait(
            session_name="default", holder_host="standby", holder_pid=2, token="b", ttl=30, check=0.2, wait=wait
        )
        assert lease is not None and lease.token == "b" and lease.fencing == 2
        assert waits == [0.2, 0.2], "tried right after the look that found it free"

    def test_looks_never_take_a_held_lease(self) -> None:
        acquire("a")
        waits: list[float] = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            return len(waits) == 12

        lease = lease_wait(
            session_name="default", holder_host="standby", holder_pid=2, token="b", ttl=30, check=0.25, wait=wait
        )
        assert lease is None and waits == [0.25] * 12  # four looks per one-second poll, all of them refused
        assert lease_current(session_name="default").token == "a"

    def test_it_stands_by_until_the_holder_lapses_then_takes_over(self, caplog) -> None:
        acquire("a")
        waits: list[float] = []

        def wait(seconds: float) -> bool:
            waits.append(seconds)
            if len(waits) == 3:
                expire()  # the holder stopped renewing; the database's clock passes its expiry
            return False

        with caplog.at_level(logging.INFO, logger="sessions_store.lease"):
            lease = lease_wait(
                session_name="default", holder_host="standby", holder_pid=2, token="b", ttl=TTL, poll=5, wait=wait
            )

        assert lease is not None and lease.token == "b" and lease.fencing == 2
        assert waits == [5] * 3, "taken at the first poll after expiry"
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
        acquire("a")

        lease = lease_wait(
            session_name="default", holder_host="h", holder_pid=2, token="b", ttl=TTL, wait=lambda s: True
        )

        assert lease is None
