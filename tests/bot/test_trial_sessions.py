# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Console trials: marked as trials, never counted by /healthz, never opened by /pair/ by default, and
``.backup`` in one creates nothing; a real session is never turned into a trial."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bot.models import BotStatus
from ops.selectors.pairing import pairing_default_session
from sessions_store.models import WhatsAppSession
from sessions_store.services import session_mark_trial
from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.support.operators import operator

OWNER = "15551234567"  # the console's default user


@pytest.mark.slow
def test_a_console_trial_is_marked_and_its_backup_creates_no_session(runbot_env, tmp_path, child_db):
    runbot_env.update({"OWNER_NUMBERS": OWNER, "TYPING_SECONDS": "0"})
    bot = Runbot(["--transport", "console", "--session", "try-it"], runbot_env, tmp_path)
    bot.process.stdin.write(json.dumps({"text": ".backup", "sender": OWNER}) + "\n")
    bot.process.stdin.close()
    code, out = bot.wait(90)
    assert code == 0, bot.log
    texts = [json.loads(line).get("text", "") for line in out.splitlines()]
    assert "Nothing backed up: this is a console trial, with no WhatsApp session to save." in texts
    rows = child_db.rows(
        "SELECT s.name, s.trial, (SELECT COUNT(*) FROM sessions_store_sessionbackup b WHERE b.session_id = s.id) "
        "FROM sessions_store_whatsappsession s"
    )
    assert [(name, bool(trial), backups) for name, trial, backups in rows] == [("try-it", True, 0)]


@pytest.mark.django_db
def test_healthz_counts_real_sessions_only(client):
    now = timezone.now()
    session_mark_trial(name="try-it")
    BotStatus.objects.create(session_name="try-it", state="stopped", last_heartbeat_at=now)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["reason"] == "no bot has reported a heartbeat yet"

    WhatsAppSession.objects.create(name="default")
    BotStatus.objects.create(session_name="default", state="connected", last_heartbeat_at=now)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["sessions"] == {"default": "ok"}


@pytest.mark.django_db
def test_the_pairing_page_opens_a_real_session_by_default_never_a_trial():
    session_mark_trial(name="a-trial")
    assert pairing_default_session() == "default"
    WhatsAppSession.objects.create(name="zz-real")
    assert pairing_default_session() == "zz-real"
    client = Client()
    client.force_login(operator("op", "sessions_store.pair_session"))
    assert "Pair session <code>zz-real</code>" in client.get(reverse("pair")).content.decode()


@pytest.mark.django_db
def test_a_console_run_under_a_real_sessions_name_does_not_make_it_a_trial():
    WhatsAppSession.objects.create(name="default", status="paired", jid="1555@s.whatsapp.net")
    assert session_mark_trial(name="default") is False
    assert WhatsAppSession.objects.get(name="default").trial is False
    assert session_mark_trial(name="new-one") is True and session_mark_trial(name="new-one") is True
