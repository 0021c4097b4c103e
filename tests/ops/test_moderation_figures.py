"""Moderation on /stats: the actions the bot recorded in the last 24 hours, by action and by rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from bot.models import BotStatus, ModerationLog, ModerationRule

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 28, 12, 30, 20, tzinfo=UTC)
TOKEN = "stats-token-for-tests-0123456789"


def test_stats_count_what_the_moderation_log_recorded(client: Client, settings) -> None:
    settings.STATS_TOKEN = TOKEN
    BotStatus.objects.create(session_name="default", state="connected", last_heartbeat_at=NOW)
    ModerationRule.objects.create(session_name="default", chat="1@g.us", rule="antilink", enabled=True)
    ModerationRule.objects.create(session_name="default", chat="2@g.us", rule="antispam", enabled=False)

    def row(rule: str, action: str, age: timedelta, *, chat: str = "1@g.us", messages: int = 1) -> None:
        ModerationLog.objects.create(
            session_name="default", chat=chat, member="1555", rule=rule, action=action, messages=messages, at=NOW - age
        )

    row("antilink", "kick", timedelta(hours=1))
    row("antispam", "warn", timedelta(minutes=5), chat="2@g.us", messages=40)
    row("manual", "warn", timedelta(hours=3))
    row("antilink", "delete", timedelta(days=2))  # outside the window
    ModerationLog.objects.create(session_name="other", chat="1@g.us", member="1", rule="antibot", action="kick", at=NOW)
    with time_machine.travel(NOW, tick=False):
        (s,) = client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"}).json()["sessions"][:1]
    assert s["moderation"] == {
        "last_24h": {
            "actions": 3,
            "messages": 42,
            "groups": 2,
            "by_action": {"delete": 0, "warn": 2, "kick": 1, "none": 0},
            "by_rule": {
                "antilink": 1,
                "antispam": 1,
                "antibadword": 0,
                "antifake": 0,
                "antibot": 0,
                "antimention": 0,
                "manual": 1,
            },
        },
        "groups_with_rules_on": 1,
    }
