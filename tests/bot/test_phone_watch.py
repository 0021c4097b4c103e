"""The primary phone's age and the unlink warnings at 10, 12 and 13 days, on a controlled clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.models import PhoneWatch
from bot.phone_watch import (
    phone_age_seconds,
    phone_seen_record,
    phone_warning_due,
    phone_warning_text,
)

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0)


def day(n: float):
    return T0 + timedelta(days=n)


def test_each_threshold_warns_once_as_the_days_pass():
    phone_seen_record(session_name="pw", at=T0, how="message")
    warned = []
    for hours in range(0, 15 * 24, 6):  # a check every six hours for fifteen days
        days = phone_warning_due(session_name="pw", now=T0 + timedelta(hours=hours))
        if days:
            warned.append((days, hours // 24))
    assert warned == [(10, 10), (12, 12), (13, 13)]


def test_a_sign_of_the_phone_starts_the_age_and_the_warnings_again():
    phone_seen_record(session_name="pw2", at=T0, how="message")
    assert phone_warning_due(session_name="pw2", now=day(10.1)) == 10
    phone_seen_record(session_name="pw2", at=day(10.2), how="receipt")
    watch = PhoneWatch.objects.get(session_name="pw2")
    assert (watch.warned_days, watch.last_seen_how) == (0, "receipt")
    assert phone_warning_due(session_name="pw2", now=day(19)) is None
    assert phone_warning_due(session_name="pw2", now=day(20.3)) == 10


def test_after_a_long_downtime_only_the_most_urgent_warning_goes_out():
    phone_seen_record(session_name="pw3", at=T0, how="probe")
    assert phone_warning_due(session_name="pw3", now=day(13.5)) == 13
    assert phone_warning_due(session_name="pw3", now=day(13.6)) is None


def test_an_older_sign_never_moves_the_age_back():
    phone_seen_record(session_name="pw4", at=day(5), how="message")
    phone_seen_record(session_name="pw4", at=day(3), how="receipt")
    watch = PhoneWatch.objects.get(session_name="pw4")
    assert watch.last_seen_at == day(5) and watch.last_seen_how == "message"
    assert phone_age_seconds(watch, now=day(6)) == 86400.0


def test_never_seen_counts_from_when_watching_began():
    PhoneWatch.objects.create(session_name="pw5", watched_since=T0)
    assert phone_warning_due(session_name="pw5", now=day(9.9)) is None
    assert phone_warning_due(session_name="pw5", now=day(10)) == 10
    assert phone_age_seconds(None) is None


def test_two_workers_asking_at_once_send_one_warning():
    phone_seen_record(session_name="pw6", at=T0, how="message")
    stale = PhoneWatch.objects.get(session_name="pw6")
    assert phone_warning_due(session_name="pw6", now=day(10.5)) == 10
    # the other worker read the row before the claim: its conditional update finds nothing to claim
    claimed = PhoneWatch.objects.filter(pk=stale.pk, warned_days__lt=10, last_seen_at=stale.last_seen_at).update(
        warned_days=10
    )
    assert claimed == 0


def test_the_warning_says_what_to_do_and_how_long_is_left():
    assert "Open WhatsApp on the phone" in phone_warning_text(10) and "about 4 days" in phone_warning_text(10)
    assert "about 1 day." in phone_warning_text(13)


def test_operators_see_the_phone_s_age_in_the_admin_and_cannot_edit_it(client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    PhoneWatch.objects.create(session_name="pwadmin", last_seen_at=T0, last_seen_how="receipt")
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    page = client.get(reverse("admin:bot_phonewatch_changelist"), {"q": "pwadmin"})
    assert page.status_code == 200 and "pwadmin" in page.content.decode() and "receipt" in page.content.decode()
    assert client.get(reverse("admin:bot_phonewatch_add")).status_code == 403
