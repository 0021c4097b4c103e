"""Writes that carry a fencing number: a stale writer keeps its history but leaves the live status alone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now
from django.utils import timezone

from bot import events
from bot.models import BotStatus, ConnectionEvent
from sessions_store.lease import lease_acquire
from sessions_store.models import SessionLease

pytestmark = pytest.mark.django_db


class Webhooks:
    def __init__(self) -> None:
        self.sent: list[dict] = []

    def notify(self, **kwargs) -> None:
        self.sent.append(kwargs)


def take(token: str):
    return lease_acquire(session_name="default", holder_host="h", holder_pid=1, token=token, ttl=30)


def test_the_holder_s_transition_updates_the_status_and_the_webhook() -> None:
    lease = take("a")
    hooks = Webhooks()

    events.transition_record(
        session_name="default", from_state="connecting", to_state="connected", fencing=lease.fencing, webhooks=hooks
    )

    assert BotStatus.objects.get(session_name="default").state == "connected"
    assert len(hooks.sent) == 1


def test_a_writer_whose_lease_was_taken_over_leaves_status_and_webhook_to_the_new_owner() -> None:
    old = take("a")
    SessionLease.objects.update(
        expires_at=ExpressionWrapper(Now() - timedelta(seconds=1), output_field=DateTimeField())
    )
    new = take("b")
    events.transition_record(session_name="default", from_state="connecting", to_state="connected", fencing=new.fencing)
    hooks = Webhooks()

    events.transition_record(
        session_name="default",
        from_state="connected",
        to_state="stopped",
        reason="lease_lost",
        fencing=old.fencing,
        webhooks=hooks,
    )

    assert BotStatus.objects.get(session_name="default").state == "connected", "the new owner's status stands"
    last = ConnectionEvent.objects.order_by("-id").first()
    assert (last.to_state, last.detail["stale_fencing"]) == ("stopped", old.fencing), "kept as history, marked"
    assert hooks.sent == []


def test_a_stale_supervisor_s_heartbeat_leaves_the_new_owner_s_figures_alone() -> None:
    old = take("a")
    SessionLease.objects.update(expires_at=ExpressionWrapper(Now() - timedelta(seconds=1), output_field=DateTimeField()))
    new = take("b")
    beat = {"session_name": "default", "at": timezone.now(), "rss_bytes": 1, "messages_in": 1, "messages_out": 1}
    events.bot_status_heartbeat(child_pid=222, fencing=new.fencing, **beat)

    events.bot_status_heartbeat(child_pid=111, fencing=old.fencing, **beat)

    assert BotStatus.objects.get(session_name="default").child_pid == 222
