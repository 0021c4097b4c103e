# ruff: noqa: F811 - pytest fixtures imported from tests.bot.test_router_neonize are parameters here
"""Each moderation rule from real neonize events: protobuf ``MessageEv`` and ``GroupInfoEv`` through
neonize's own dispatch into the real ``NeonizeTransport``, routed, and carried out through a fake Go
FFI that records the revokes (``REVOKE`` protocol messages) and ``UpdateGroupParticipants`` removals
WhatsApp would get; the log row written; admins exempt."""

from __future__ import annotations

import pytest

pytest.importorskip("neonize")

from neonize.utils.jid import build_jid  # noqa: E402

from bot.models import ModerationLog  # noqa: E402
from tests.bot.fixtures.neonize_events import make_msg_ev  # noqa: E402
from tests.bot.test_router_neonize import (  # noqa: E402, F401 - fixtures
    ADMIN,
    GROUP,
    GROUP_STR,
    MEMBER,
    MEMBER_LID,
    fake,
    group_event,
    texts_sent,
    wired,
)

pytestmark = pytest.mark.django_db


def rule_on(wired, rule: str, **changes) -> None:
    wired.router.moderator.rulebook.rule_set(GROUP_STR, rule, enabled=True, **changes)


def from_member(text: str, msg_id: str, **kw):
    return make_msg_ev(text, chat=GROUP, sender=MEMBER_LID, sender_alt=MEMBER, msg_id=msg_id, **kw)


def revoked(fake) -> list[tuple[str, str]]:
    keys = [m.protocolMessage.key for _, m in fake.sent if m.HasField("protocolMessage")]
    return [(k.ID, k.participant) for k in keys]


def removed(fake) -> list[list[tuple[str, str]]]:
    return [[(j.User, j.Server) for j in jids] for _, jids, action in fake.participant_changes if action == "remove"]


def logged() -> list[tuple[str, str, str]]:
    return list(ModerationLog.objects.order_by("id").values_list("member", "rule", "action"))


def test_antilink_kick_revokes_and_removes_through_update_group_participants(wired, fake):
    rule_on(wired, "antilink", action="kick", allow=["youtube.com"])
    wired.deliver(from_member("see https://youtube.com/watch?v=1", "OK1"))
    assert fake.sent == []
    wired.deliver(from_member("free https://spam.example.com", "L1"))
    assert revoked(fake) == [("L1", "98765432100002@lid")]
    assert removed(fake) == [[("98765432100002", "lid")]]
    assert texts_sent(fake)[-1].text == "@98765432100002 was removed: sent a link (antilink is on)."
    assert logged() == [("15551230002", "antilink", "kick")]  # the member by phone, from the group's metadata


def test_antifake_removes_a_joiner_with_a_refused_calling_code(wired, fake):
    rule_on(wired, "antifake", action="kick", block=["91"])
    wired.deliver(group_event(Join=[build_jid("919812345678"), build_jid("15557654321")]))
    assert removed(fake) == [[("919812345678", "s.whatsapp.net")]]
    assert logged() == [("919812345678", "antifake", "kick")]


def test_antibot_revokes_a_message_with_a_baileys_id_and_warns(wired, fake):
    rule_on(wired, "antibot")
    wired.deliver(from_member("hi", "3EB0A1B2C3D4E5F6071829"))  # WhatsApp Web's shape: a person
    wired.deliver(from_member("hi", "BAE5F3C2A1B04D11"))
    assert revoked(fake) == [("BAE5F3C2A1B04D11", "98765432100002@lid")]
    assert texts_sent(fake)[-1].text.startswith("@98765432100002 warning 1/3. Reason: posted from another bot")


def test_antimention_and_antibadword_on_real_messages(wired, fake):
    rule_on(wired, "antimention", action="delete", options={"threshold": 3})
    rule_on(wired, "antibadword", action="delete", block=["idiot"])
    many = tuple(f"1555000{n:04d}@s.whatsapp.net" for n in range(5))
    wired.deliver(from_member("@all look", "M1", mentions=many))
    wired.deliver(from_member("what an ÍDIOT", "B1"))
    wired.deliver(from_member("idiotic but fine", "B2"))
    assert revoked(fake) == [("M1", "98765432100002@lid"), ("B1", "98765432100002@lid")]
    assert logged() == [("15551230002", "antimention", "delete"), ("15551230002", "antibadword", "delete")]


def test_antispam_revokes_a_flood_and_warns_once(wired, fake):
    rule_on(wired, "antispam", options={"level": "high"})
    for n in range(7):
        wired.deliver(from_member(f"spam {n}", f"F{n}"))
    assert [msg_id for msg_id, _ in revoked(fake)] == ["F4", "F5", "F6"]
    assert [t.text for t in texts_sent(fake)] == [
        "@98765432100002 warning 1/3. Reason: flooded the group (antispam is on)."
    ]
    wired.router.stats.flush()
    [row] = ModerationLog.objects.all()
    assert (row.rule, row.action, row.messages) == ("antispam", "warn", 3)


def test_an_admin_is_exempt_from_every_rule(wired, fake):
    for rule in ("antilink", "antispam", "antibadword", "antibot", "antimention"):
        rule_on(wired, rule, action="kick")
    rule_on(wired, "antibadword", block=["idiot"])
    many = tuple(f"1555000{n:04d}@s.whatsapp.net" for n in range(12))
    for n in range(8):
        wired.deliver(
            make_msg_ev(
                "idiot https://x.example.com", chat=GROUP, sender=ADMIN, msg_id=f"BAE5F3C2A1B04D{n:02d}", mentions=many
            )
        )
    assert fake.sent == [] and fake.participant_changes == [] and not ModerationLog.objects.exists()
