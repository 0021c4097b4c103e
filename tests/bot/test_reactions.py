"""Reaction commands: one looping MP4 with a caption that mentions the people it is about."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.commands.reactions import REACTIONS, reaction_caption
from bot.dispatch.registry import read_declarations
from media_cdn.models import GifRendition
from media_cdn.resolver import resolver_reset
from tests.bot.dispatch_kit import ALICE, ALICE_LID, BOB, CAROL, GROUP, group_info, make_bot
from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.django_db

REACTIONS_MODULE = Path(__file__).resolve().parents[2] / "bot" / "commands" / "reactions.py"


@pytest.fixture
def starter(db) -> None:
    from media_cdn.models import GifAsset
    from media_cdn.starter import STARTER_REACTIONS, starter_pack_install

    if GifAsset.objects.filter(name__in=list(STARTER_REACTIONS)).count() < len(STARTER_REACTIONS):
        starter_pack_install()


@pytest.fixture
def bot(settings, starter):
    resolver_reset()  # the process resolver reads MEDIA_* settings afresh
    made = make_bot(settings)
    made.add_group(group_info())
    yield made
    resolver_reset()


def one_video(bot, text: str, **kw):
    sent = bot.run(text, chat=GROUP, **kw)
    assert len(sent) == 1, sent
    return sent[0]


def test_a_hug_with_a_mention_is_one_looping_mp4_with_caption_and_mentions(bot) -> None:
    reply = one_video(bot, ".hug @15550000003", mentions=(BOB,))
    assert reply.kind == "video" and reply.gif_playback is True
    assert reply.text == "@15550000002 hugs @15550000003 🤗"
    assert reply.mentions == (ALICE, BOB)
    assert reply.chat == GROUP
    mp4 = GifRendition.objects.get(asset__name="hug", kind="mp4")
    assert reply.media is not None
    assert reply.media.mimetype == "video/mp4" and reply.media.gif_playback is True
    assert reply.media.sha256 == mp4.sha256 and len(reply.media.data) == mp4.bytes
    assert reply.media.duration_seconds > 0 and reply.media.thumbnail_jpeg


def test_the_quoted_messages_author_is_the_target_without_a_mention(bot) -> None:
    reply = one_video(bot, ".slap", quoted_sender=CAROL)
    assert reply.text == "@15550000002 slaps @15550000004 👋"
    assert reply.mentions == (ALICE, CAROL)


def test_with_nobody_or_only_yourself_the_caption_still_reads_naturally(bot) -> None:
    assert one_video(bot, ".hug").text == "@15550000002 wants a hug 🤗"
    bot.clock.advance(10)
    alone = one_video(bot, ".dance @15550000002", mentions=(ALICE,))
    assert alone.text == "@15550000002 dances 💃" and alone.mentions == (ALICE,)


def test_several_targets_are_listed_once_each() -> None:
    caption, mentions = reaction_caption("wave", actor=ALICE, targets=(BOB, CAROL, BOB))
    assert caption == "@15550000002 waves at @15550000003 and @15550000004 👋"
    assert mentions == (ALICE, BOB, CAROL)


def test_a_lid_sender_is_mentioned_by_its_lid() -> None:
    caption, mentions = reaction_caption("pat", actor=ALICE_LID, targets=(BOB,))
    assert caption == "@80000000002 pats @15550000003 🫳" and mentions == (ALICE_LID, BOB)


def test_aliases_work(bot) -> None:
    assert one_video(bot, ".hi5 @15550000003", mentions=(BOB,)).text.startswith("@15550000002 high-fives @15550000003")


def test_there_are_twenty_plus_reactions_each_with_its_starter_mp4(starter) -> None:
    assert len(REACTIONS) >= 20
    with_mp4 = set(GifRendition.objects.filter(kind="mp4").values_list("asset__name", flat=True))
    assert set(REACTIONS) <= with_mp4


def test_the_registry_reads_the_reactions_without_importing_them() -> None:
    specs = read_declarations(REACTIONS_MODULE.read_text(), module="bot.commands.reactions")
    assert specs is not None  # literal decorators: progressive loading keeps this module unloaded
    assert {s.name for s in specs} == set(REACTIONS)
    assert {s.category for s in specs} == {"reactions"}


def test_the_menu_lists_them_under_their_own_category(bot) -> None:
    menu = bot.run_text(".menu")
    block = menu.split("*Reactions*", 1)[1].split("\n\n", 1)[0]
    assert f"({len(REACTIONS)})" in block
    assert all(f".{name}" in block for name in REACTIONS)


def test_media_missing_everywhere_sends_the_caption_as_text(bot, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "wiped"
    settings.MEDIA_CDN_URL = ""
    GifRendition.objects.filter(asset__name="kiss", kind="mp4").update(data=None)
    resolver_reset()
    sent = bot.run(".kiss @15550000003", chat=GROUP, mentions=(BOB,))
    assert len(sent) == 1
    assert sent[0].kind == "text" and sent[0].text == "@15550000002 kisses @15550000003 😘"
    assert sent[0].mentions == (ALICE, BOB)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # the runbot process commits to this database: flush after
def test_a_reaction_through_the_console_runbot_prints_one_video_line(request, tmp_path, starter) -> None:
    env = request.getfixturevalue("runbot_env")  # the runbot process, on this test's database
    bot = Runbot(["--transport", "console"], env, tmp_path)
    message = {"chat": GROUP, "sender": ALICE, "text": ".bonk @15550000003", "mentions": [BOB], "group": {"name": "G"}}
    bot.process.stdin.write(json.dumps(message) + "\n")
    bot.process.stdin.close()
    code, out = bot.wait(90)
    assert code == 0, bot.log
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line["kind"] == "video" and line["gif_playback"] is True and line["mimetype"] == "video/mp4"
    assert line["caption"] == "@15550000002 bonks @15550000003 🔨"
    assert line["mentions"] == [ALICE, BOB]
    assert line["asset"] == "bonk" and line["bytes"] > 0
    assert line["sha256"] == GifRendition.objects.get(asset__name="bonk", kind="mp4").sha256
