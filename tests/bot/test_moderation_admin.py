"""Moderation in the admin (rules and policies checked like the commands check them, the log read-only)
and the data migration that moved each group's antilink switch onto its rule."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.urls import reverse

from bot.models import ModerationLog, ModerationRule, WarnPolicy


def moderation_migration() -> tuple[list, list]:
    """The migration that made the rules (its number moves as others land before it), and its parent."""
    loader = MigrationLoader(connection)
    name = next(n for app, n in loader.disk_migrations if app == "bot" and n.endswith("_moderation"))
    parent = next(d for d in loader.get_migration("bot", name).dependencies if d[0] == "bot")
    return [parent], [("bot", name)]


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


def rule_form(**fields) -> dict:
    return {
        "session_name": "default",
        "chat": "1203@g.us",
        "rule": "antilink",
        "enabled": "on",
        "action": "kick",
        "allow": '["YouTube.com"]',
        "block": "[]",
        "options": "{}",
        **fields,
    }


@pytest.mark.django_db
def test_a_rule_from_the_admin_is_checked_and_normalised(superuser_client):
    url = reverse("admin:bot_moderationrule_add")
    refused = superuser_client.post(url, rule_form(allow='["not a domain"]'))
    assert refused.status_code == 200 and "is not a domain like youtube.com." in refused.content.decode()
    assert not ModerationRule.objects.exists()
    assert superuser_client.post(url, rule_form()).status_code == 302
    assert ModerationRule.objects.get().allow == ["youtube.com"]


@pytest.mark.django_db
def test_a_warn_template_from_the_admin_is_checked(superuser_client):
    url = reverse("admin:bot_warnpolicy_add")
    form = {"session_name": "default", "chat": "1203@g.us", "limit": "", "decay_days": "", "template": "{who} out"}
    refused = superuser_client.post(url, form)
    assert "Unknown placeholder {who}" in refused.content.decode() and not WarnPolicy.objects.exists()


@pytest.mark.django_db
def test_the_moderation_log_is_read_only(superuser_client):
    row = ModerationLog.objects.create(
        session_name="default", chat="1@g.us", member="1555", rule="antilink", action="kick"
    )
    assert superuser_client.get(reverse("admin:bot_moderationlog_changelist")).status_code == 200
    assert superuser_client.get(reverse("admin:bot_moderationlog_add")).status_code == 403
    assert (
        superuser_client.post(reverse("admin:bot_moderationlog_delete", args=[row.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert ModerationLog.objects.filter(pk=row.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_antilink_switches_become_antilink_rules():
    before, after = moderation_migration()
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before).apps.get_model("bot", "GroupSettings")
        old.objects.create(session_name="default", chat="1@g.us", welcome=True, antilink=True)
        old.objects.create(session_name="default", chat="2@g.us", antilink=False)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        rules = list(ModerationRule.objects.values_list("chat", "rule", "enabled", "action"))
        assert rules == [("1@g.us", "antilink", True, "warn")]
    finally:
        MigrationExecutor(connection).migrate(leaves)  # the schema every later test expects
