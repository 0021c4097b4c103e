"""The admin of schedules and greetings: the list pages render, the stop action removes the pending
django-q2 row too, and a greeting template is checked as ``.welcome set`` checks it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django_q.models import Schedule

from bot.admin.greetings import GreetingSettingsForm
from bot.models import ScheduledMessage
from bot.schedule_rules import parse_when, zone_named
from bot.scheduled import q_name, scheduled_create

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(user)
    return client


def test_the_stop_action_stops_a_schedule_and_its_django_q2_row(admin_client, settings):
    settings.SCHEDULE_MAX_PER_CHAT = 10
    parsed = parse_when("daily 08:00 morning", now=NOW, tz=zone_named("UTC"))
    row = scheduled_create(session_name="s", chat="1203@g.us", parsed=parsed, time_zone="UTC")
    url = reverse("admin:bot_scheduledmessage_changelist")
    assert admin_client.get(url).status_code == 200
    assert admin_client.get(reverse("admin:bot_scheduledmessage_change", args=[row.pk])).status_code == 200
    admin_client.post(url, {"action": "stop", "_selected_action": [str(row.pk)]})
    row.refresh_from_db()
    assert not row.active and not Schedule.objects.filter(name=q_name(row.pk)).exists()
    assert ScheduledMessage.objects.count() == 1  # its history stays


def test_a_greeting_template_with_an_unknown_placeholder_is_refused_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:bot_greetingsettings_changelist")).status_code == 200
    form = GreetingSettingsForm(data={"session_name": "s", "chat": "1203@g.us", "welcome_text": "Hi {who}"})
    assert not form.is_valid() and "Unknown placeholder {who}" in str(form.errors["welcome_text"])
    good = GreetingSettingsForm(data={"session_name": "s", "chat": "1203@g.us", "welcome_text": " Hi {mention} "})
    assert good.is_valid() and good.save().welcome_text == "Hi {mention}"
