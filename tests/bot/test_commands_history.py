"""``.antidelete`` and ``.antiedit`` through router, handler and outbound: who may switch them, where the
reposts go, purge, and one clear reply for each bad input."""

from __future__ import annotations

import pytest

from bot.models import CachedMessage, ChatHistorySetting
from bot.transport.base import MessageRevoked
from tests.bot.dispatch_kit import ALICE, BOB, CAROL, GROUP, OWNER, group_info, make_bot

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot(settings):
    bot = make_bot(settings)
    bot.add_group(group_info(admins=(ALICE,), members=(ALICE, BOB, CAROL)))
    return bot


def test_a_member_cannot_switch_it_and_an_admin_or_the_owner_can(bot):
    assert bot.run_text(".antidelete on", chat=GROUP, sender=BOB) == "Only group admins can change this."
    assert not ChatHistorySetting.objects.exists()
    assert bot.run_text(".antidelete on", chat=GROUP, sender=ALICE).startswith("Anti-delete on: messages here are kept")
    assert bot.run_text(".antiedit on", chat=GROUP, sender=OWNER).startswith("Anti-edit on")
    row = ChatHistorySetting.objects.get(chat=GROUP)
    assert (row.antidelete, row.antiedit, row.changed_by) == (True, True, "15550000001")
    status = bot.run_text(".antidelete", chat=GROUP, sender=BOB)  # reading is open to all
    assert status.startswith("Anti-delete is on, anti-edit is on; reposts go to this chat.")


def test_in_a_private_chat_only_the_owner_switches_it(bot):
    assert bot.run_text(".antidelete on", sender=BOB) == "Only the bot owner can change this in a private chat."
    assert bot.run_text(".antidelete on", sender=OWNER).startswith("Anti-delete on")


def test_another_chat_as_destination_is_the_owners_choice_and_must_be_a_chat(bot):
    assert bot.run_text(".antidelete to 120363000000000777@g.us", chat=GROUP, sender=ALICE).startswith(
        "Only the bot owner can send reposts to another chat"
    )
    assert bot.run_text(".antidelete to nowhere", chat=GROUP, sender=OWNER) == (
        "nowhere is not a chat. Give a group JID, a user JID or a phone number."
    )
    assert bot.run_text(".antidelete to +1 555", chat=GROUP, sender=OWNER).startswith("+1 is not a chat")
    assert bot.run_text(".antidelete to 120363000000000777@g.us", chat=GROUP, sender=OWNER) == (
        "Reposts of deleted and edited messages now go to 120363000000000777@g.us."
    )
    assert bot.run_text(".antidelete to here", chat=GROUP, sender=ALICE).endswith("now go to this chat.")
    assert bot.run_text(".antidelete to", chat=GROUP, sender=ALICE).startswith("Usage: .antidelete")
    assert bot.run_text(".antidelete maybe", chat=GROUP, sender=ALICE).startswith("Usage: .antidelete")


def test_deletes_go_to_the_chat_named(bot):
    bot.run(".antidelete on", chat=GROUP, sender=ALICE)
    bot.run(".antidelete to 15550000009", chat=GROUP, sender=OWNER)
    bot.run("between us", chat=GROUP, sender=BOB, msg_id="B1")
    result = bot.router.history.handle(MessageRevoked(id="R1", chat=GROUP, sender=BOB, target_id="B1", is_group=True))
    [reply] = result.replies
    assert reply.chat == "15550000009@s.whatsapp.net" and reply.text.startswith(f"In chat {GROUP}\n")


def test_purge_forgets_the_chats_messages_and_turning_both_off_does_too(bot):
    bot.run(".antidelete on", chat=GROUP, sender=ALICE)
    for n in range(3):
        bot.run(f"note {n}", chat=GROUP, sender=BOB, msg_id=f"N{n}")
    assert CachedMessage.objects.count() == 3
    # the purge command is a message of the chat too, kept like the others until it forgets them all
    assert bot.run_text(".antidelete purge", chat=GROUP, sender=ALICE) == "Forgot 4 kept message(s) of this chat."
    bot.run("note 4", chat=GROUP, sender=BOB, msg_id="N4")
    assert bot.run_text(".antidelete off", chat=GROUP, sender=ALICE) == (
        "Anti-delete off; anti-edit is off too, so the 2 kept message(s) are forgotten."
    )
    bot.run("note 5", chat=GROUP, sender=BOB, msg_id="N5")
    assert not CachedMessage.objects.exists()


def test_a_repost_speaks_the_language_of_the_chat_it_goes_to(bot):
    bot.run(".antidelete on", chat=GROUP, sender=ALICE)
    bot.router.state.set_language(GROUP, "es")
    bot.run("hasta luego", chat=GROUP, sender=BOB, msg_id="ES1")
    result = bot.router.history.handle(MessageRevoked(id="R1", chat=GROUP, sender=BOB, target_id="ES1", is_group=True))
    [reply] = result.replies
    assert reply.text.startswith("🗑️ Mensaje eliminado\nDe: @15550000003") and reply.text.endswith("\nhasta luego")
