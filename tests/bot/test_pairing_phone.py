# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Pairing by phone number from the browser: a /pair/ POST reaches the running supervisor through the
control table, which restarts its child with ``--pair-phone``; the page then shows the code."""

from __future__ import annotations

import json
import signal
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bot.control import ControlError, control_request, pair_phone_parse
from bot.models import ControlCommand
from sessions_store.models import PairingCode, WhatsAppSession
from sessions_store.pairing import pairing_code_store
from tests.bot.fixtures.processes import ChildDb, Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.support.operators import operator

FIXTURES = "tests.bot.fixtures.transports"


def staff_client() -> Client:
    client = Client()
    client.force_login(operator("op", "sessions_store.pair_session"))
    return client


def carry_to(db: ChildDb, command: ControlCommand) -> None:
    """PostgreSQL: the worker reads the test database itself. SQLite: its file is a copy, so the row
    the POST wrote goes there as it is."""
    if connection.vendor == "postgresql":
        return
    db.execute(
        "INSERT INTO bot_controlcommand (session_name, action, args, requested_at, state, result) "
        "VALUES (%s, %s, %s, CURRENT_TIMESTAMP, %s, '')",
        (command.session_name, command.action, json.dumps(command.args), command.state),
    )


@pytest.mark.slow
def test_a_phone_number_posted_on_the_pairing_page_restarts_the_running_bot_with_it(runbot_env, tmp_path, child_db):
    bot = Runbot(["--transport", f"{FIXTURES}:PhonePairingTransport", "--session", "phone"], runbot_env, tmp_path)
    bot.wait_for(r"phone transport built pair_phone=-")
    bot.wait_for(r"connection state session=phone from=connecting to=connected")

    response = staff_client().post(
        reverse("pair"), {"session": "phone", "action": "pair_phone", "phone": "+1 (555) 123-4567"}
    )
    assert response.status_code == 302 and response["Location"] == "/pair/?session=phone"
    command = ControlCommand.objects.get(action="pair_phone")
    assert command.args == {"phone": "15551234567"} and command.requested_by.username == "op"
    carry_to(child_db, command)

    bot.wait_for(r"phone transport built pair_phone=15551234567", timeout=30)
    bot.wait_for(r"control action done .*action=pair_phone")
    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
    assert child_db.rows("SELECT state, result FROM bot_controlcommand WHERE action = %s", ("pair_phone",)) == [
        ("done", "child restarted (pair_phone); asking WhatsApp for a code for the number ending 4567")
    ]
    # the supervisor logs only the number's end; the whole number appears only where the fake prints it
    assert "phone_tail=4567" in bot.log
    assert bot.log.count("15551234567") == bot.log.count("phone transport built pair_phone=15551234567")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "digits"),
    [("+49 151 2345-6789", "4915123456789"), ("0049 151 23456789", "4915123456789"), ("15551234567", "15551234567")],
)
def test_a_phone_number_in_international_format_becomes_its_digits(typed, digits):
    assert pair_phone_parse(typed) == digits


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "international format"),
        ("0151 2345678", "country code"),
        ("+1 555 CALL ME", "digits only"),
        ("1234", "5 to 16 digits"),
        ("12345678901234567", "5 to 16 digits"),
    ],
)
def test_a_wrong_phone_number_gets_a_clear_error(typed, says):
    with pytest.raises(ControlError, match=says):
        pair_phone_parse(typed)


@pytest.mark.django_db
def test_a_wrong_number_on_the_page_shows_the_error_beside_it_and_queues_nothing():
    response = staff_client().post(reverse("pair"), {"session": "default", "action": "pair_phone", "phone": "0151 23"})
    assert response.status_code == 200  # the form again, not a redirect
    page = response.content.decode()
    assert 'id="pair-phone-error"' in page and "country code" in page
    assert 'value="0151 23"' in page  # what was typed stays there to correct
    assert not ControlCommand.objects.exists()
    assert "window.location.reload" not in page, "no reload wipes the number being corrected"


@pytest.mark.django_db
def test_the_control_table_refuses_a_phone_request_without_a_valid_number():
    with pytest.raises(ControlError, match="digits only"):
        control_request(session_name="default", action="pair_phone", args={"phone": "call me"})
    assert not ControlCommand.objects.exists()


@pytest.mark.django_db
def test_the_page_shows_the_phone_code_with_its_expiry_and_the_steps_on_the_phone():
    pairing_code_store(session_name="default", kind="phone_code", code="ABCD-1234", ttl_seconds=180)
    expires = PairingCode.objects.get().expires_at
    page = staff_client().get(reverse("pair")).content.decode()
    assert '<div class="phone-code" id="phone-code">ABCD-1234</div>' in page
    assert f'<strong id="phone-code-expiry">{expires:%H:%M:%S} UTC</strong>' in page
    assert "Linked devices" in page and "Link with phone number instead" in page


@pytest.mark.django_db
def test_the_page_says_how_the_last_phone_request_ended():
    control_request(session_name="default", action="pair_phone", args={"phone": "15551234567"})
    ControlCommand.objects.update(state="failed", result="expired: no bot picked it up within 60 minutes")
    page = staff_client().get(reverse("pair")).content.decode()
    assert 'id="last-phone"' in page and "failed" in page and "no bot picked it up" in page


@pytest.mark.django_db
def test_a_qr_rotation_does_not_replace_a_phone_code_the_operator_is_typing():
    now = timezone.now()
    pairing_code_store(session_name="default", kind="phone_code", code="ABCD-1234", ttl_seconds=180, now=now)
    pairing_code_store(
        session_name="default", kind="qr", code="2@next-qr", ttl_seconds=20, now=now + timedelta(seconds=5)
    )
    assert list(PairingCode.objects.values_list("kind", "code")) == [("phone_code", "ABCD-1234")]
    assert WhatsAppSession.objects.count() == 1


@pytest.mark.django_db
def test_the_supervisor_asks_with_the_number_refuses_a_paired_session_and_a_fresh_qr_ends_phone_pairing():
    from bot.supervisor.loop import Supervisor

    supervisor = Supervisor(session_name="default", transport="console", scheduler=False)
    control_request(session_name="default", action="pair_phone", args={"phone": "+1 555 123 4567"})
    assert supervisor.poll_control() == 1
    assert supervisor.pair_phone == "15551234567"
    assert "--pair-phone" in supervisor.child_command(9) and "15551234567" in supervisor.child_command(9)
    control_request(session_name="default", action="refresh_qr")
    supervisor.poll_control()
    assert supervisor.pair_phone == "" and "--pair-phone" not in supervisor.child_command(9)

    WhatsAppSession.objects.create(name="paired-one", status="paired")
    paired = Supervisor(session_name="paired-one", transport="console", scheduler=False)
    control_request(session_name="paired-one", action="pair_phone", args={"phone": "15551234567"})
    paired.poll_control()
    row = ControlCommand.objects.get(session_name="paired-one")
    assert (row.state, row.result) == (
        "failed",
        "ControlError: the session is paired already; nothing to link (log it out first to pair anew)",
    )
    assert paired.pair_phone == ""


@pytest.mark.django_db
def test_the_page_says_so_when_no_bot_is_running_to_take_the_request():
    response = staff_client().post(
        reverse("pair"), {"session": "default", "action": "pair_phone", "phone": "15551234567"}, follow=True
    )
    assert "no bot is running for this session now" in response.content.decode()
    assert ControlCommand.objects.get().state == "pending"
