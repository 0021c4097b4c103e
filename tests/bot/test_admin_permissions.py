"""Every operator action checks a permission of its own: a staff user who may only *view* the admin
queues nothing (admin actions, /pair/, "ask again"), and each permission opens exactly its action."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from bot.models import BotStatus, ControlCommand
from media_cdn.models import GifAsset
from sessions_store.models import SessionBackup, WhatsAppSession
from tests.support.operators import operator

pytestmark = pytest.mark.django_db

VIEW_ONLY = (
    "sessions_store.view_whatsappsession",
    "sessions_store.view_sessionbackup",
    "bot.view_botstatus",
    "bot.view_controlcommand",
    "media_cdn.view_gifasset",
)
SESSION_ACTIONS = {
    "backup_now": ("bot.request_backup", "backup"),
    "force_reconnect": ("bot.request_reconnect", "reconnect"),
    "restart_bot": ("bot.request_restart", "restart"),
    "verify_backups": ("bot.verify_backups", "verify"),
}


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path: Path) -> None:
    settings.WA_STORE_DIR = tmp_path / "wa"
    settings.WA_SESSION_DATA = settings.WA_CREDENTIALS = settings.WA_AUTH_STATE = ""
    settings.SESSION_ENCRYPTION_KEY = ""


def login(*perms: str, name: str = "viewer") -> Client:
    client = Client()
    client.force_login(operator(name, *perms))
    return client


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def act(client: Client, model, action: str, ids: list) -> object:
    return client.post(changelist(model), {"action": action, "_selected_action": [str(i) for i in ids]})


def offered(client: Client, model) -> set[str]:
    response = client.get(changelist(model))
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action at all is offered
    return set() if form is None else {value for value, _ in form.fields["action"].choices if value}


def test_a_view_only_user_is_offered_no_action_and_queues_nothing_by_posting_one() -> None:
    session = WhatsAppSession.objects.create(name="default", status="paired")
    backup = SessionBackup.objects.create(session=session, reason="scheduled", state="verified")
    status = BotStatus.objects.create(session_name="default", state="connected")
    assert GifAsset.objects.exists()  # the starter pack
    viewer = login(*VIEW_ONLY)
    assert offered(viewer, WhatsAppSession) == set()
    assert offered(viewer, SessionBackup) == set()
    assert offered(viewer, BotStatus) == set()
    assert offered(viewer, GifAsset) == set()
    for action in [*SESSION_ACTIONS, "export_env", "pair_by_phone", "remove_sessions"]:
        act(viewer, WhatsAppSession, action, [session.pk])
    act(viewer, SessionBackup, "restore_backup", [backup.pk])
    act(viewer, BotStatus, "restart_bot", [status.pk])
    assert ControlCommand.objects.count() == 0
    assert WhatsAppSession.objects.filter(name="default").exists()


@pytest.mark.parametrize("action", sorted(SESSION_ACTIONS))
def test_each_permission_opens_its_own_action_and_no_other(action: str) -> None:
    perm, queued_action = SESSION_ACTIONS[action]
    session = WhatsAppSession.objects.create(name="default", status="paired")
    client = login(*VIEW_ONLY, perm)
    assert offered(client, WhatsAppSession) == {action}
    act(client, WhatsAppSession, action, [session.pk])
    assert list(ControlCommand.objects.values_list("action", flat=True)) == [queued_action]


def test_restore_needs_its_own_permission() -> None:
    session = WhatsAppSession.objects.create(name="default", status="paired")
    backup = SessionBackup.objects.create(session=session, reason="scheduled", state="verified")
    client = login(*VIEW_ONLY, "bot.restore_backup")
    assert offered(client, SessionBackup) == {"restore_backup"}
    client.post(
        changelist(SessionBackup), {"action": "restore_backup", "_selected_action": [backup.pk], "confirm": "yes"}
    )
    assert ControlCommand.objects.get().action == "restore"


def test_ask_again_rechecks_each_request_s_own_permission() -> None:
    restart = ControlCommand.objects.create(session_name="default", action="restart", state="done")
    backup = ControlCommand.objects.create(session_name="default", action="backup", state="done")
    assert offered(login(*VIEW_ONLY), ControlCommand) == set()
    client = login(*VIEW_ONLY, "bot.request_backup", name="backer")
    assert offered(client, ControlCommand) == {"run_again"}
    act(client, ControlCommand, "run_again", [restart.pk, backup.pk])
    assert ControlCommand.objects.filter(state="pending").get().action == "backup"


def test_pairing_page_needs_the_pair_permission_to_see_or_ask() -> None:
    WhatsAppSession.objects.create(name="default", status="unpaired")
    viewer = login(*VIEW_ONLY)
    assert viewer.get("/pair/").status_code == 403  # a QR on screen is a device anyone may link
    assert viewer.post("/pair/", {"session": "default"}).status_code == 403
    assert (
        viewer.post("/pair/", {"session": "default", "action": "pair_phone", "phone": "+15550001111"}).status_code
        == 403
    )
    assert ControlCommand.objects.count() == 0
    pairer = login("sessions_store.pair_session", name="pairer")
    assert pairer.get("/pair/").status_code == 200
    pairer.post("/pair/", {"session": "default"})
    assert ControlCommand.objects.get().action == "refresh_qr"


def test_reconvert_needs_its_own_permission() -> None:
    assert GifAsset.objects.exists()
    assert offered(login(*VIEW_ONLY, "media_cdn.change_gifasset"), GifAsset) == set()
    assert offered(login(*VIEW_ONLY, "media_cdn.reconvert_gifasset", name="converter"), GifAsset) == {"reconvert"}


def test_adding_a_session_with_phone_pairing_needs_the_pairing_permission_and_says_so() -> None:
    add = reverse("admin:sessions_store_whatsappsession_add")
    adder = login("sessions_store.view_whatsappsession", "sessions_store.add_whatsappsession", name="adder")
    refused = adder.post(add, {"name": "phone-one", "pairing": "phone", "phone": "+49 151 23456789"})
    assert refused.status_code == 200 and "needs the permission to pair sessions" in refused.content.decode()
    assert not WhatsAppSession.objects.exists() and not ControlCommand.objects.exists()

    adder.post(add, {"name": "qr-one", "pairing": "qr"})
    assert WhatsAppSession.objects.filter(name="qr-one").exists(), "a QR session needs no pairing permission"
    pairer = login(
        "sessions_store.view_whatsappsession",
        "sessions_store.add_whatsappsession",
        "sessions_store.pair_session",
        name="pairer",
    )
    pairer.post(add, {"name": "phone-one", "pairing": "phone", "phone": "+49 151 23456789"})
    assert list(ControlCommand.objects.values_list("session_name", "action")) == [("phone-one", "pair_phone")]


def test_every_admin_action_of_the_project_needs_more_than_the_view_permission() -> None:
    """A new action added without ``permissions=`` would be offered to anyone who may look."""
    from django.contrib import admin

    unguarded = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in {"bot", "sessions_store", "media_cdn"}:
            continue
        for func, name, _ in model_admin._get_base_actions():
            needed = set(getattr(func, "allowed_permissions", ()))
            if not needed or needed <= {"view"}:
                unguarded.append(f"{model._meta.label}.{name}")
            for permission in needed:
                assert hasattr(model_admin, f"has_{permission}_permission"), (model, name, permission)
    assert unguarded == []
