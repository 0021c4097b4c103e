"""The admin: every operator table lists, filters and searches; actions reach the control table
and the supervisor carries them out; restore asks first; the export shows sizes (values to
superusers only)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bot.models import (
    BannedUser,
    BotSetting,
    BotStatus,
    ConnectionEvent,
    ControlCommand,
    GroupSettings,
    MessageStat,
    ReconnectEvent,
    Warning,
    WebhookDelivery,
)
from bot.supervisor.loop import Supervisor
from sessions_store.models import SessionBackup, WhatsAppSession
from sessions_store.services import backup_create
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _isolated_sessions(settings, tmp_path: Path) -> None:
    settings.WA_STORE_DIR = tmp_path / "wa"
    settings.WA_SESSION_DATA = settings.WA_CREDENTIALS = settings.WA_AUTH_STATE = ""
    settings.HEROKU_API_KEY = settings.HEROKU_APP_NAME = ""
    settings.SESSION_ENCRYPTION_KEY = ""


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    return client


def staff_with_all_permissions() -> Client:
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["bot", "sessions_store"]))
    client = Client()
    client.force_login(user)
    return client


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def act(client: Client, model, action: str, ids: list, **extra) -> object:
    return client.post(changelist(model), {"action": action, "_selected_action": [str(i) for i in ids], **extra})


def test_every_operator_table_lists_filters_and_searches(superuser_client: Client) -> None:
    now = timezone.now()
    BotStatus.objects.create(session_name="default", state="connected", last_heartbeat_at=now, rss_bytes=150 << 20)
    ConnectionEvent.objects.create(session_name="default", from_state="connecting", to_state="connected", reason="ok")
    ReconnectEvent.objects.create(session_name="default", attempt=1, delay_seconds=1.0, reason="keepalive_timeout")
    MessageStat.objects.create(session_name="default", bucket=now.replace(second=0, microsecond=0), messages_in=3)
    ControlCommand.objects.create(session_name="default", action="backup", result="x" * 200)
    WebhookDelivery.objects.create(session_name="default", ok=False, error="HTTP 500")
    BotSetting.objects.create(session_name="default", key="prefix", value="!")
    BannedUser.objects.create(session_name="default", phone="15550001111", reason="spam")
    GroupSettings.objects.create(session_name="default", chat="120363@g.us", welcome=True)
    Warning.objects.create(session_name="default", chat="120363@g.us", user="15550002222", reason="links")
    session = WhatsAppSession.objects.create(name="default", status="paired")
    SessionBackup.objects.create(session=session, reason="scheduled", state="verified")
    models = [
        BotStatus,
        ConnectionEvent,
        ReconnectEvent,
        MessageStat,
        ControlCommand,
        WebhookDelivery,
        BotSetting,
        BannedUser,
        GroupSettings,
        Warning,
        WhatsAppSession,
        SessionBackup,
    ]
    for model in models:
        url = changelist(model)
        assert superuser_client.get(url).status_code == 200, model
        assert superuser_client.get(url, {"q": "default"}).status_code == 200, model
    html = superuser_client.get(changelist(BotStatus)).content.decode()
    assert "150 MB" in html and "s ago" in html
    assert superuser_client.get(changelist(ReconnectEvent), {"outcome__exact": "pending"}).status_code == 200


def test_bot_written_rows_cannot_be_added_or_edited_by_hand(superuser_client: Client) -> None:
    event = ConnectionEvent.objects.create(session_name="default", from_state="starting", to_state="connecting")
    assert superuser_client.get(reverse("admin:bot_connectionevent_add")).status_code == 403
    url = reverse("admin:bot_connectionevent_change", args=[event.pk])
    superuser_client.post(url, {"reason": "edited"})
    event.refresh_from_db()
    assert event.reason == ""


def test_force_reconnect_and_restart_reach_the_control_table_once(superuser_client: Client) -> None:
    status = BotStatus.objects.create(session_name="default", state="connected")
    act(superuser_client, BotStatus, "force_reconnect", [status.pk])
    act(superuser_client, BotStatus, "force_reconnect", [status.pk])  # double click: queued once
    act(superuser_client, BotStatus, "restart_bot", [status.pk])
    rows = list(ControlCommand.objects.order_by("id").values_list("action", "state", "requested_by__username"))
    assert rows == [("reconnect", "pending", "root"), ("restart", "pending", "root")]


def test_session_actions_are_carried_out_by_the_supervisor(superuser_client: Client) -> None:
    make_paired_store("default")
    session = WhatsAppSession.objects.create(name="default", status="paired")
    act(superuser_client, WhatsAppSession, "backup_now", [session.pk])
    act(superuser_client, WhatsAppSession, "restart_bot", [session.pk])
    assert ControlCommand.objects.filter(state="pending").count() == 2

    supervisor = Supervisor(session_name="default", transport="console", scheduler=False)
    assert supervisor.poll_control() == 2

    backup_row, restart_row = ControlCommand.objects.order_by("id")
    assert (backup_row.action, backup_row.state, backup_row.requested_by.username) == ("backup", "done", "root")
    backup = SessionBackup.objects.get(session=session)
    assert backup.state == "verified" and backup.reason == "manual"
    assert backup_row.result == f"backup {backup.pk} written"
    assert (restart_row.state, restart_row.result) == ("done", "child starting (restart_requested)")
    assert restart_row.finished_at is not None


def test_restore_asks_for_confirmation_then_queues_the_backup(superuser_client: Client) -> None:
    make_paired_store("default")
    session = WhatsAppSession.objects.create(name="default", status="paired")
    backup = backup_create(session_name="default", reason="manual")
    page = act(superuser_client, SessionBackup, "restore_backup", [backup.pk])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Restore a backup?" in html and f"backup #{backup.pk}" in html and 'name="confirm"' in html
    assert ControlCommand.objects.count() == 0  # nothing happens before the operator confirms

    act(superuser_client, SessionBackup, "restore_backup", [backup.pk], confirm="yes")
    command = ControlCommand.objects.get()
    assert (command.session_name, command.action, command.args) == ("default", "restore", {"backup_id": backup.pk})
    assert command.requested_by.username == "root"
    assert session.pk


def test_restore_refuses_a_backup_that_is_not_verified(superuser_client: Client) -> None:
    session = WhatsAppSession.objects.create(name="default")
    corrupt = SessionBackup.objects.create(session=session, reason="scheduled", state="corrupt")
    response = act(superuser_client, SessionBackup, "restore_backup", [corrupt.pk], confirm="yes")
    assert response.status_code == 302
    assert ControlCommand.objects.count() == 0
    follow = superuser_client.get(response["Location"]).content.decode()
    assert "only a verified backup can be restored" in follow


def test_verify_runs_here_and_is_recorded_with_who_asked_and_the_outcome(superuser_client: Client) -> None:
    make_paired_store("default")
    session = WhatsAppSession.objects.create(name="default", status="paired")
    good = backup_create(session_name="default", reason="manual")
    broken = SessionBackup.objects.create(
        session=session,
        created_at=timezone.now() - timedelta(hours=1),
        reason="scheduled",
        state="verified",
        archive=b"not an archive",
        sha256="0" * 64,
    )
    act(superuser_client, WhatsAppSession, "verify_backups", [session.pk])
    command = ControlCommand.objects.get()
    assert (command.action, command.state, command.requested_by.username) == ("verify", "done", "root")
    assert command.result.startswith("2 backup(s) checked, 1 verified, 1 corrupt")
    broken.refresh_from_db()
    good.refresh_from_db()
    assert (good.state, broken.state) == ("verified", "corrupt")


def test_export_shows_sizes_to_staff_and_values_to_superusers_only(superuser_client: Client) -> None:
    make_paired_store("default")
    session = WhatsAppSession.objects.create(name="default", status="paired")
    backup_create(session_name="default", reason="manual")

    page = act(superuser_client, WhatsAppSession, "export_env", [session.pk]).content.decode()
    for name in ("WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE"):
        assert name in page
    assert "bytes" in page and "(fits)" in page
    assert "<textarea" in page and "bsky1.s." in page

    staff = staff_with_all_permissions()
    page = act(staff, WhatsAppSession, "export_env", [session.pk]).content.decode()
    assert "WA_CREDENTIALS" in page and "bytes" in page
    assert "<textarea" not in page and "bsky1." not in page


def test_export_without_anything_to_export_says_why(superuser_client: Client) -> None:
    session = WhatsAppSession.objects.create(name="never-paired", status="new")
    response = act(superuser_client, WhatsAppSession, "export_env", [session.pk])
    assert response.status_code == 302
    assert "Could not export never-paired" in superuser_client.get(response["Location"]).content.decode()
