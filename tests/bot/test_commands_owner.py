"""Owner commands through router, handler and outbound into the in-memory transport."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.dispatch.limits import PacingConfig
from bot.models import BannedUser, BotSetting, BotStatus, ControlCommand, GroupSettings, ReconnectEvent
from bot.transport.base import ConnectionSignal
from tests.bot.dispatch_kit import ALICE, BOB, GROUP, OWNER, group_info, make_bot

pytestmark = pytest.mark.django_db

OWNER_COMMANDS = ("backup", "restart", "broadcast hi", "ban 15550000003", "unban 1555", "banlist", "maintenance on")


@pytest.fixture
def bot(settings):
    return make_bot(settings)


SUDO_COMMANDS = ("broadcast hi", "ban 15550000003", "unban 1555", "banlist", "status")


@pytest.mark.parametrize("text", [*OWNER_COMMANDS, "setprefix !", "status"])
def test_only_owners_may_run_owner_commands(bot, text):
    expected = (
        "Only the bot owner or a sudo user can use this command."
        if text in SUDO_COMMANDS
        else "Only the bot owner can use this command."
    )
    assert bot.run_text("." + text, sender=ALICE) == expected
    assert not ControlCommand.objects.exists() and not BannedUser.objects.exists()


def test_backup_says_when_there_is_nothing_to_back_up(bot, settings, tmp_path):
    settings.WA_STORE_DIR = tmp_path / "wa"
    assert bot.run_text(".backup", sender=OWNER).startswith("Nothing backed up")


@pytest.mark.slow
def test_backup_saves_and_verifies_the_session_now(bot, settings, tmp_path):
    from sessions_store.models import SessionBackup
    from tests.sessions_store.factories import make_paired_store

    settings.WA_STORE_DIR = tmp_path / "wa"
    settings.SESSION_ENCRYPTION_KEY = ""
    make_paired_store("kit")
    text = bot.run_text(".backup", sender=OWNER)
    backup = SessionBackup.objects.get()
    assert text.startswith(f"Session backed up and verified (#{backup.pk}, ")
    assert backup.state == "verified" and backup.reason == "manual"


def test_restart_goes_through_the_control_table(bot):
    text = bot.run_text(".restart", sender=OWNER)
    row = ControlCommand.objects.get()
    assert (row.session_name, row.action, row.state) == ("kit", "restart", "pending")
    assert row.args["by"] == "15550000001"
    assert text.startswith(f"Restart requested (#{row.pk}).")


def test_broadcast_reaches_every_known_group_paced(settings):
    bot = make_bot(settings, pacing=PacingConfig(global_per_minute=60, chat_per_minute=60, burst=2, typing_seconds=0))
    groups = [f"1203630000000001{n:02d}@g.us" for n in range(5)]
    for chat in groups:
        GroupSettings.objects.create(session_name="kit", chat=chat)
    GroupSettings.objects.create(session_name="other-session", chat="120363999999999999@g.us")
    sent = bot.run(".broadcast Server maintenance tonight", sender=OWNER)
    assert sent[0].chat == OWNER and sent[0].text.startswith("Broadcasting to 5 group(s)")
    assert sorted(r.chat for r in sent[1:]) == groups
    assert all(r.text.endswith("Server maintenance tonight") for r in sent[1:])
    assert bot.clock.now - 1000.0 == pytest.approx(4.0)  # 6 sends, burst 2, then one a second


def test_broadcast_needs_a_message_and_groups(bot):
    assert bot.run_text(".broadcast", sender=OWNER).startswith("Write the message to send.")
    bot.clock.advance(300)
    assert bot.run_text(".broadcast hi", sender=OWNER) == "I don't know any group to broadcast to yet."


def test_groups_are_remembered_from_their_messages(bot):
    bot.add_group(group_info())
    bot.run("hello", chat=GROUP)
    assert GroupSettings.objects.filter(session_name="kit", chat=GROUP).exists()


def test_ban_by_mention_then_their_commands_are_ignored(bot):
    assert bot.run_text(".ban @bob flooding", sender=OWNER, mentions=(BOB,)) == (
        "@15550000003 is banned: I'll ignore their commands."
    )
    row = BannedUser.objects.get()
    assert (row.phone, row.reason, row.banned_by) == ("15550000003", "flooding", "15550000001")
    assert bot.run(".ping", sender=BOB) == []
    assert bot.run_text(".ban", sender=OWNER, mentions=(BOB,)) == "@15550000003 is banned already."


def test_ban_by_number_unban_and_banlist(bot):
    assert bot.run_text(".ban +1 555 000 0003", sender=OWNER) == "+15550000003 is banned: I'll ignore their commands."
    assert bot.run_text(".ban +15550000004 rude", sender=OWNER) == "+15550000004 is banned: I'll ignore their commands."
    assert BannedUser.objects.get(phone="15550000004").reason == "rude"
    bot.run(".unban 15550000004", sender=OWNER)
    listed = bot.run_text(".banlist", sender=OWNER)
    assert listed.startswith("*Banned (1)*\n1. +15550000003")
    assert bot.run_text(".unban 15550000003", sender=OWNER) == "+15550000003 is no longer banned."
    assert bot.run_text(".unban 15550000003", sender=OWNER) == "+15550000003 was not banned."
    assert bot.run_text(".banlist", sender=OWNER) == "Nobody is banned."
    assert bot.run_text(".ping", sender=BOB).startswith("pong")


def test_owners_cannot_be_banned(bot):
    assert bot.run_text(".ban 15550000001", sender=OWNER) == "Owners can't be banned."


def test_maintenance_on_and_off(bot):
    assert bot.run_text(".maintenance", sender=OWNER).startswith("Maintenance mode is off.")
    assert bot.run_text(".maintenance on", sender=OWNER).startswith("Maintenance mode on")
    assert BotSetting.objects.get(key="maintenance").value is True
    assert "maintenance" in bot.run_text(".ping", sender=ALICE)
    assert bot.run_text(".ping", sender=OWNER).startswith("pong")
    bot.run(".maintenance off", sender=OWNER)
    assert bot.run_text(".ping", sender=ALICE).startswith("pong")


def test_setprefix_changes_and_persists_the_prefix(bot, settings):
    assert bot.run_text(".setprefix !/", sender=OWNER) == "Prefix changed to ! /. Try !menu."
    assert bot.run(".ping", sender=ALICE) == []
    assert bot.run_text("/ping", sender=ALICE).startswith("pong")
    restarted = make_bot(settings)
    assert restarted.run_text("!ping", sender=ALICE).startswith("pong")
    assert restarted.run(".ping", sender=ALICE) == []


@pytest.mark.parametrize(
    ("arg", "error"),
    [("abc", "punctuation"), ("!!!!!!", "at most 5"), ("@", "punctuation"), ('"', "punctuation")],
)
def test_setprefix_rejects_bad_prefixes(bot, arg, error):
    text = bot.run_text(f".setprefix {arg}", sender=OWNER)
    assert text.startswith("Not changed:") and error in text
    assert not BotSetting.objects.filter(key="prefix").exists()


def test_status_reports_the_connection(bot):
    now = timezone.now()
    BotStatus.objects.create(
        session_name="kit",
        state="connected",
        state_since=now - timedelta(minutes=5),
        connected_since=now - timedelta(minutes=5),
        last_heartbeat_at=now - timedelta(seconds=3),
        child_restarts=2,
        rss_bytes=90 * 1024 * 1024,
    )
    ReconnectEvent.objects.create(session_name="kit", attempt=1, delay_seconds=1.5, reason="disconnected")
    text = bot.run_text(".status", sender=OWNER)
    assert "State: connected for 5m" in text
    assert "Child restarts: 2, memory: 90 MiB" in text
    assert "Reconnects in 24h: 1" in text


def test_status_shows_a_sending_pause(bot):
    bot.router.outbound.on_signal(ConnectionSignal(kind="temporary_ban", detail={"expire_seconds": 3600}))
    result = bot.say(".status", sender=OWNER)
    assert "No status recorded yet." in result.replies[0].text
    assert "Sending paused (temporary_ban) for 1h 0m 0s more" in result.replies[0].text
