"""The outbound pacer: typing, token buckets, pauses on bans and restrictions, media resolution."""

from __future__ import annotations

import logging
import sys

import pytest

from bot.dispatch.limits import PacingConfig
from bot.dispatch.outbound import RESTRICTED_PAUSE_SECONDS, Outbound
from bot.transport.base import ConnectionSignal, Media, Reply, TransportError
from tests.bot.dispatch_kit import ALICE, BOB, GROUP, Clock, KitTransport

PACED = PacingConfig(global_per_minute=60, chat_per_minute=30, burst=5, chat_burst=3, typing_seconds=0.5)


def outbound(pacing: PacingConfig = PACED, **kw) -> tuple[Outbound, KitTransport, Clock]:
    clock = Clock(0.0)
    transport = KitTransport()
    return (
        Outbound(transport=transport, session_name="ob", clock=clock, sleep=clock.sleep, pacing=pacing, **kw),
        transport,
        clock,
    )


def text(chat: str = ALICE, body: str = "hi", **kw) -> Reply:
    return Reply(kind="text", chat=chat, text=body, **kw)


def test_it_shows_typing_before_a_reply_and_waits_at_least_the_typing_time():
    out, transport, clock = outbound()
    result = out.send(text())
    assert result is not None and transport.sent == [text()]
    assert transport.presences == [(ALICE, True)]
    assert clock.slept == [0.5]


def test_reactions_and_group_actions_are_not_typed():
    out, transport, clock = outbound()
    out.send(Reply(kind="reaction", chat=ALICE, emoji="👍", reply_to="X"))
    out.send(Reply(kind="group", chat=GROUP, action="announce"))
    assert transport.presences == [] and clock.slept == []


def test_a_burst_into_one_chat_is_spread_not_dropped():
    out, transport, clock = outbound(
        PacingConfig(global_per_minute=600, chat_per_minute=30, chat_burst=3, typing_seconds=0)
    )
    for n in range(6):
        assert out.send(text(body=str(n))) is not None
    assert [r.text for r in transport.sent] == ["0", "1", "2", "3", "4", "5"]
    assert clock.now == pytest.approx(6.0)  # three at once, then one every 2 s
    assert out.send(text(chat=BOB)) is not None  # another chat is not held up by ALICE's bucket


def test_the_global_bucket_paces_sends_across_chats():
    out, transport, clock = outbound(PacingConfig(global_per_minute=60, chat_per_minute=600, burst=2, typing_seconds=0))
    for n in range(5):
        out.send(text(chat=f"1555000{n:04d}@s.whatsapp.net"))
    assert len(transport.sent) == 5
    assert clock.now == pytest.approx(3.0)  # 2 at once, then 1 per second


def test_pacing_off_never_waits_or_types():
    out, transport, clock = outbound(PacingConfig(enabled=False))
    for _ in range(100):
        out.send(text())
    assert len(transport.sent) == 100 and clock.slept == [] and transport.presences == []


def test_a_temporary_ban_pauses_every_send_until_it_expires(caplog):
    out, transport, clock = outbound()
    out.on_signal(
        ConnectionSignal(kind="temporary_ban", reason="SEND_TO_TOO_MANY_PEOPLE", detail={"expire_seconds": 600})
    )
    with caplog.at_level(logging.WARNING, logger="bot.dispatch.outbound"):
        assert out.send(text()) is None
        assert out.send(text(chat=BOB)) is None
    assert transport.sent == [] and out.dropped_count == 2
    assert any(r.getMessage() == "reply not sent: outbound paused" for r in caplog.records)
    clock.advance(600)
    assert out.send(text()) is not None


def test_a_send_restriction_error_pauses_and_backs_off():
    out, transport, clock = outbound(PacingConfig(enabled=False))
    transport.fail_with = TransportError("rate-overlimit", restricted=True)
    assert out.send(text()) is None
    assert out.is_paused() and out.pause_reason == "send_restricted"
    transport.fail_with = None
    assert out.send(text()) is None  # paused: not even tried
    clock.advance(RESTRICTED_PAUSE_SECONDS)
    transport.fail_with = TransportError("rate-overlimit", restricted=True)
    out.send(text())
    assert out.paused_until == pytest.approx(clock.now + 2 * RESTRICTED_PAUSE_SECONDS)  # doubled
    transport.fail_with = None
    clock.advance(2 * RESTRICTED_PAUSE_SECONDS)
    assert out.send(text()) is not None


def test_an_ordinary_send_failure_returns_none_without_pausing(caplog):
    out, transport, _ = outbound()
    transport.fail_with = TransportError("no route")
    with caplog.at_level(logging.WARNING, logger="bot.dispatch.outbound"):
        assert out.send(text()) is None
    assert not out.is_paused() and out.failed_count == 1
    assert transport.presences == [(ALICE, True), (ALICE, False)]  # typing cleared again
    assert any(r.getMessage() == "send failed" and r.error == "no route" for r in caplog.records)


def test_a_crashing_transport_never_escapes():
    out, transport, _ = outbound()

    def explode(reply):
        raise RuntimeError("go panic")

    transport.send = explode
    assert out.send(text()) is None


def test_it_remembers_what_it_sent_so_echoes_are_recognised():
    out, _, _ = outbound(PacingConfig(enabled=False))
    ids = [out.send(text()).id for _ in range(3)]
    assert all(out.was_sent_by_us(i) for i in ids)
    assert not out.was_sent_by_us("SOMEONE-ELSE")


def gif(asset: str = "hug") -> Media:
    return Media(data=b"\x00\x00\x00\x18ftypmp42", mimetype="video/mp4", gif_playback=True, asset=asset)


def test_a_media_reply_is_resolved_by_asset_name():
    calls = []

    def resolve(asset, *, kind):
        calls.append((asset, kind))
        return gif(asset)

    out, transport, _ = outbound(PacingConfig(enabled=False), resolve_media=resolve)
    out.send(Reply(kind="video", chat=ALICE, asset="hug", text="@1 hugs @2", mentions=(ALICE, BOB), gif_playback=True))
    assert calls == [("hug", "video")]
    sent = transport.sent[0]
    assert sent.kind == "video" and sent.media.mimetype == "video/mp4" and sent.mentions == (ALICE, BOB)


def test_missing_media_goes_out_as_the_caption_with_its_mentions(caplog):
    out, transport, _ = outbound(PacingConfig(enabled=False), resolve_media=lambda asset, *, kind: None)
    with caplog.at_level(logging.WARNING, logger="bot.dispatch.outbound"):
        out.send(Reply(kind="video", chat=ALICE, asset="hug", text="@1 hugs @2", mentions=(ALICE, BOB), reply_to="M1"))
    sent = transport.sent[0]
    assert (sent.kind, sent.text, sent.mentions, sent.reply_to) == ("text", "@1 hugs @2", (ALICE, BOB), "M1")
    record = next(r for r in caplog.records if r.getMessage() == "media unavailable, sending the caption as text")
    assert record.asset == "hug"


def test_a_crashing_resolver_falls_back_to_text():
    def resolve(asset, *, kind):
        raise OSError("disk gone")

    out, transport, _ = outbound(PacingConfig(enabled=False), resolve_media=resolve)
    out.send(Reply(kind="video", chat=ALICE, asset="hug", text="hugs"))
    assert transport.sent[0].kind == "text" and transport.sent[0].text == "hugs"


def test_without_the_media_app_it_sends_text(monkeypatch):
    monkeypatch.setitem(sys.modules, "media_cdn.resolver", None)  # import fails like a missing module
    out, transport, _ = outbound(PacingConfig(enabled=False))
    out.send(Reply(kind="video", chat=ALICE, asset="hug", text="hugs"))
    assert transport.sent[0].kind == "text"


def test_media_with_bytes_is_sent_untouched():
    out, transport, _ = outbound(PacingConfig(enabled=False), resolve_media=lambda a, *, kind: pytest.fail("resolved"))
    reply = Reply(kind="video", chat=ALICE, media=gif(), text="x")
    out.send(reply)
    assert transport.sent == [reply]
