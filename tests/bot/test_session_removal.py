"""Removing a session and everything it owns: ``remove_session`` and the admin action, with counts;
a session a worker holds is refused unless forced."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bot.models import BotStatus, ConnectionEvent, ControlCommand, MessageStat
from sessions_store.lease import lease_acquire, lease_identity, lease_release
from sessions_store.models import PairingCode, SessionBackup, SessionLease, WhatsAppSession
from sessions_store.pairing import pairing_code_store
from sessions_store.services import backup_create, session_mark_trial
from sessions_store.store import store_for
from tests.sessions_store.factories import isolated_sessions, make_paired_store  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_sessions")]



def a_session_with_everything(name: str) -> None:
    """A paired store with two verified backups, a pairing code, a released lease and the bot's rows."""
    now = timezone.now()
    make_paired_store(name)
    WhatsAppSession.objects.create(name=name, status="paired")
    assert backup_create(session_name=name, reason="manual").state == "verified"
    make_paired_store(name, seed=2)  # a changed store, so the second backup is not skipped as unchanged
    assert backup_create(session_name=name, reason="manual").state == "verified"
    pairing_code_store(session_name=name, kind="qr", code="2@qr", ttl_seconds=60)
    lease_release(lease=lease_acquire(session_name=name, ttl=30, **lease_identity()))
    BotStatus.objects.create(session_name=name, state="stopped", last_heartbeat_at=now)
    for _ in range(3):
        ConnectionEvent.objects.create(session_name=name, from_state="starting", to_state="connecting")
    MessageStat.objects.create(session_name=name, bucket=now.replace(second=0, microsecond=0), messages_in=2)
    ControlCommand.objects.create(session_name=name, action="backup")


def everything_of(name: str) -> list[int]:
    return [
        WhatsAppSession.objects.filter(name=name).count(),
        SessionBackup.objects.filter(session__name=name).count(),
        PairingCode.objects.filter(session__name=name).count(),
        SessionLease.objects.filter(session__name=name).count(),
        BotStatus.objects.filter(session_name=name).count(),
        ConnectionEvent.objects.filter(session_name=name).count(),
        MessageStat.objects.filter(session_name=name).count(),
        ControlCommand.objects.filter(session_name=name).count(),
    ]


@pytest.mark.slow
def test_remove_session_removes_everything_it_owns_and_says_how_much(capsys):
    a_session_with_everything("old")
    a_session_with_everything("keep")
    location = store_for("old").location
    assert everything_of("old") == [1, 2, 1, 1, 1, 3, 1, 1]

    call_command("remove_session", "old")
    out = capsys.readouterr().out.strip()
    assert out.startswith("Removed session 'old': session row 1, backups 2, pairing codes 1, lease 1, live store ")
    assert location in out and "bot statuses 1" in out and "connection events 3" in out
    assert "message stats 1" in out and "control commands 1" in out
    assert everything_of("old") == [0] * 8
    assert store_for("old").health().status == "missing"
    assert everything_of("keep") == [1, 2, 1, 1, 1, 3, 1, 1], "another session's rows are untouched"
    assert store_for("keep").health().healthy


def test_a_session_a_worker_holds_is_refused_unless_forced(capsys):
    session_mark_trial(name="busy")
    BotStatus.objects.create(session_name="busy", state="connected")
    assert lease_acquire(session_name="busy", ttl=60, holder_host="worker-a", holder_pid=7, token="t" * 16)
    with pytest.raises(CommandError, match=r"held by worker-a:7:tttttttt until .* --force"):
        call_command("remove_session", "busy")
    assert everything_of("busy")[:5] == [1, 0, 0, 1, 1], "nothing removed"

    call_command("remove_session", "busy", "--force")
    assert "session row 1, backups 0, pairing codes 0, lease 1, live store none" in capsys.readouterr().out
    assert everything_of("busy") == [0] * 8


def test_a_trial_left_only_as_bot_rows_is_removed_too_and_an_unknown_name_says_nothing_was_there(capsys):
    BotStatus.objects.create(session_name="ghost", state="stopped")
    call_command("remove_session", "ghost")
    assert "session row 0" in capsys.readouterr().out and not BotStatus.objects.exists()
    call_command("remove_session", "never-was")
    assert capsys.readouterr().out.strip() == "Nothing to remove: no session, store or bot rows are named 'never-was'."


def staff(*perms: str) -> Client:
    user = get_user_model().objects.create_user("op", password="pw", is_staff=True)
    base = Permission.objects.filter(codename__in=["view_whatsappsession", "change_whatsappsession", *perms])
    user.user_permissions.set(base)
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_action_needs_its_own_permission_asks_first_and_then_reports_the_counts():
    session_mark_trial(name="trial-1")
    BotStatus.objects.create(session_name="trial-1", state="stopped")
    pk = WhatsAppSession.objects.get(name="trial-1").pk
    url = reverse("admin:sessions_store_whatsappsession_changelist")

    without = staff()
    assert "remove_sessions" not in without.get(url).content.decode()
    without.post(url, {"action": "remove_sessions", "_selected_action": [pk], "confirm": "yes"})
    assert WhatsAppSession.objects.filter(pk=pk).exists(), "no permission, nothing removed"

    get_user_model().objects.all().delete()
    client = staff("remove_session")
    asked = client.post(url, {"action": "remove_sessions", "_selected_action": [pk]})
    assert asked.status_code == 200 and 'id="remove-confirm"' in asked.content.decode()
    assert WhatsAppSession.objects.filter(pk=pk).exists(), "asking removes nothing"
    done = client.post(url, {"action": "remove_sessions", "_selected_action": [pk], "confirm": "yes"}, follow=True)
    page = done.content.decode()
    assert "Removed session &#x27;trial-1&#x27;: session row 1" in page and "bot statuses 1" in page
    assert not WhatsAppSession.objects.exists() and not BotStatus.objects.exists()


# -- the rest of a session's life in the admin: adding it, pairing it by phone -----------------------------
def test_the_add_form_asks_only_name_and_pairing_method_and_offers_a_free_name():
    WhatsAppSession.objects.create(name="default")
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    add = reverse("admin:sessions_store_whatsappsession_add")
    page = client.get(add).content.decode()
    assert 'name="name"' in page and 'value="session-2"' in page, "the suggested name is free"
    assert 'name="pairing"' in page and 'name="phone"' in page
    for field in ("jid", "status", "store_backend", "store_location", "credentials_fingerprint", "trial"):
        assert f'name="{field}"' not in page, field

    taken = client.post(add, {"name": "default", "pairing": "qr"})
    assert taken.status_code == 200 and "exists already; try &#x27;session-2&#x27;" in taken.content.decode()
    wrong = client.post(add, {"name": "phone-one", "pairing": "phone", "phone": "0151 234"})
    assert wrong.status_code == 200 and "country code" in wrong.content.decode()
    assert not WhatsAppSession.objects.filter(name="phone-one").exists()

    client.post(add, {"name": "phone-one", "pairing": "phone", "phone": "+49 151 23456789"})
    assert WhatsAppSession.objects.get(name="phone-one").trial is False
    assert list(ControlCommand.objects.values_list("session_name", "action", "args")) == [
        ("phone-one", "pair_phone", {"phone": "4915123456789"})
    ]


def test_pairing_by_phone_from_the_admin_needs_its_permission_and_reaches_the_control_table():
    pk = WhatsAppSession.objects.create(name="default").pk
    url = reverse("admin:sessions_store_whatsappsession_changelist")
    without = staff()
    without.post(url, {"action": "pair_by_phone", "_selected_action": [pk], "confirm": "yes", "phone": "15551234567"})
    assert not ControlCommand.objects.exists()

    get_user_model().objects.all().delete()
    client = staff("pair_session")
    form = client.post(url, {"action": "pair_by_phone", "_selected_action": [pk]})
    assert 'id="pair-phone"' in form.content.decode() and "Link with phone number instead" in form.content.decode()
    wrong = client.post(url, {"action": "pair_by_phone", "_selected_action": [pk], "confirm": "yes", "phone": "12"})
    assert "5 to 16 digits" in wrong.content.decode() and not ControlCommand.objects.exists()
    client.post(
        url, {"action": "pair_by_phone", "_selected_action": [pk], "confirm": "yes", "phone": "+1 555 123 4567"}
    )
    assert list(ControlCommand.objects.values_list("action", "args", "requested_by__username")) == [
        ("pair_phone", {"phone": "15551234567"}, "op")
    ]


def test_the_admin_is_branded_and_the_root_is_a_landing_page():
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    page = client.get(reverse("admin:index")).content.decode()
    assert "BLACKSKY-MD administration" in page and "<title>" in page and "BLACKSKY-MD admin" in page
    landing = Client().get("/")
    assert landing.status_code == 200 and 'id="landing"' in landing.content.decode()
    assert 'href="/pair/"' in landing.content.decode() and 'href="/healthz"' in landing.content.decode()
    assert client.get("/").headers["Location"] == reverse("dashboard"), "staff go straight to the dashboard"
