# ruff: noqa: F811 - the starter fixture imported from tests.media_cdn.conftest is a parameter here
"""A GIF imported with the command it serves answers as that command: declared by ``import_gifs``
(flag or sidecar), read by the registry without a restart, refused up front when a word is taken."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.core.management import CommandError, call_command

from bot.dispatch.gif_commands import GifCommandSource
from bot.dispatch.registry import registry
from bot.models import ReactionCommand
from bot.reaction_commands import Declaration, DeclarationError, declaration_check
from media_cdn import pipeline
from media_cdn.models import GifAsset, GifRendition
from media_cdn.resolver import resolver_reset
from tests.bot.dispatch_kit import ALICE, BOB, GROUP, group_info, make_bot
from tests.media_cdn.conftest import starter  # noqa: F401 - a fixture
from tests.media_cdn.test_pipeline import transparent_gif

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_gifs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def bot(settings, tmp_path):
    """The project's command modules plus the declared rows, synced on the hand clock."""
    settings.MEDIA_ROOT = tmp_path / "media"
    resolver_reset()
    registry.discover()
    made = make_bot(settings, registry=registry)
    kept, source = registry.sources, GifCommandSource(interval=10.0, clock=made.clock)
    registry.sources = [source]
    made.add_group(group_info())
    yield made
    ReactionCommand.objects.all().delete()
    made.clock.advance(11)
    source.sync(registry)  # the project's registry forgets this test's commands
    registry.sources = kept
    resolver_reset()


def boing_folder(tmp_path, sidecar: dict | None = None):
    folder = tmp_path / "in"
    folder.mkdir()
    transparent_gif(folder / "boing.gif")
    if sidecar is not None:
        (folder / "boing.json").write_text(json.dumps(sidecar), encoding="utf-8")
    return folder


def test_a_gif_with_a_sidecar_answers_as_its_command_with_its_caption_and_mentions(bot, tmp_path) -> None:
    clock = bot.clock
    sidecar = {
        "aliases": ["boingo"],
        "caption": "{actor} boings {target}",
        "alone": "{actor} boings around",
        "emoji": "🦘",
        "help": "Boing someone.",
    }
    out, _ = run(str(boing_folder(tmp_path, sidecar)))
    assert "answers as .boing" in out and "1 command(s) declared" in out

    [sent] = bot.run(".boing @15550000003", chat=GROUP, mentions=(BOB,))
    assert sent.kind == "video" and sent.gif_playback is True
    assert sent.text == "@15550000002 boings @15550000003 🦘"
    assert sent.mentions == (ALICE, BOB)
    assert sent.media.sha256 == GifRendition.objects.get(asset__name="boing", kind="mp4").sha256
    clock.advance(4)  # past the reaction's cooldown
    [alone] = bot.run(".boingo", chat=GROUP)
    assert alone.text == "@15550000002 boings around 🦘"
    assert "boing" in bot.run_text(".menu") and "Boing someone." in bot.run_text(".help boing")


def test_the_command_flag_declares_each_gif_with_default_captions(bot, tmp_path) -> None:
    run(str(boing_folder(tmp_path)), "--command")
    row = ReactionCommand.objects.get(name="boing")
    assert (row.caption_target, row.caption_alone) == ("{actor} sends {target} a boing", "{actor} sends a boing")
    [sent] = bot.run(".boing", chat=GROUP)
    assert sent.text == "@15550000002 sends a boing"


def test_a_command_declared_while_the_bot_runs_answers_after_the_next_sync_and_a_removed_one_goes(
    bot, tmp_path
) -> None:
    clock = bot.clock
    assert bot.run(".boing", chat=GROUP)[0].kind == "text"  # unknown: the hint
    run(str(boing_folder(tmp_path)), "--command")
    assert bot.run(".boing", chat=GROUP) == [] or bot.results[-1].reason == "unknown"  # read 10 s ago
    clock.advance(11)
    assert bot.run(".boing", chat=GROUP)[0].kind == "video"
    clock.advance(61)  # past the hint's minute
    ReactionCommand.objects.all().delete()
    clock.advance(11)
    bot.run(".menu")  # the menu syncs too
    bot.run(".boing", chat=GROUP)
    assert bot.results[-1].reason == "unknown"


def test_clashes_are_refused_before_a_single_gif_is_converted(tmp_path, monkeypatch, starter) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(("good", "menu-gif", "zap-a", "zap-b", "hug")):
        transparent_gif(folder / f"{name}.gif", size=(333 + i, 201))  # five different GIFs
    (folder / "menu-gif.json").write_text(json.dumps({"command": "menu"}))  # a built-in word
    (folder / "zap-a.json").write_text(json.dumps({"command": "zap"}))
    (folder / "zap-b.json").write_text(json.dumps({"command": "zap"}))  # twice in one batch
    converted: list[str] = []
    real_prepare = pipeline.gif_prepare
    monkeypatch.setattr(
        pipeline, "gif_prepare", lambda data, **kw: converted.append(kw["name"]) or real_prepare(data, **kw)
    )

    err = io.StringIO()
    with pytest.raises(CommandError, match="3 of 5 file"):
        call_command("import_gifs", str(folder), "--command", stdout=io.StringIO(), stderr=err)
    assert len(err.getvalue().splitlines()) == 3, err.getvalue()
    assert converted == ["good", "zap-a"]  # the refused ones cost no ffmpeg
    assert set(ReactionCommand.objects.values_list("name", flat=True)) == {"good", "zap"}
    assert not GifAsset.objects.filter(name__in=["menu-gif", "zap-b"]).exists()
    assert (
        GifAsset.objects.get(name="hug").sha256
        != pipeline.hashlib.sha256((folder / "hug.gif").read_bytes()).hexdigest()
    )


def test_the_refusals_say_why_in_one_line_each(tmp_path, starter) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    transparent_gif(folder / "hug.gif")
    transparent_gif(folder / "menu-gif.gif")
    (folder / "menu-gif.json").write_text(json.dumps({"command": "menu"}))
    transparent_gif(folder / "odd.gif")
    (folder / "odd.json").write_text("{not json")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_gifs", str(folder), stdout=io.StringIO(), stderr=err)
    lines = sorted(err.getvalue().splitlines())
    assert lines[0] == "FAILED hug.gif: name 'hug' is taken by a different GIF (use --replace)"
    assert lines[1] == "FAILED menu-gif.gif: .menu is already the built-in command .menu"
    assert lines[2].startswith("FAILED odd.gif: odd.json is not valid JSON")


def test_aliases_for_a_whole_folder_are_refused_before_anything(tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    transparent_gif(folder / "one.gif")
    transparent_gif(folder / "two.gif")
    with pytest.raises(CommandError, match="--aliases names one command, but 2 GIFs"):
        run(str(folder), "--command", "--aliases", "x")
    assert not GifAsset.objects.filter(name__in=["one", "two"]).exists()


@pytest.mark.parametrize(
    ("caption", "alone", "error"),
    [
        ("{actor.__class__} hi {target}", "", "may only use {actor} and {target}"),
        ("{actor} hi {target:>99999}", "", "may only use"),
        ("{0} hi", "", "may only use"),
        ("{actor} hi {target}", "{actor} waves at {target}", "may only use {actor}, found {target}"),
        ("hi {target}", "", "must name the sender with {actor}"),
        ("{actor} " + "x" * 300, "", "at most 200"),
        ("{actor} {", "", "is not a valid template"),
    ],
)
def test_a_caption_template_that_could_misbehave_is_refused(caption, alone, error) -> None:
    with pytest.raises(DeclarationError, match=error.replace("{", r"\{").replace("}", r"\}").replace(".", r"\.")):
        declaration_check(Declaration("boing", (), caption, alone))


@pytest.mark.parametrize("word", ["", "Bad Word", "a" * 41, "héllo", "-x"])
def test_a_word_that_is_not_a_command_name_is_refused(word) -> None:
    with pytest.raises(DeclarationError):
        declaration_check(Declaration(word))


def test_a_row_that_clashes_with_a_built_in_is_skipped_with_one_warning(bot, caplog, starter) -> None:
    clock = bot.clock
    hug = GifAsset.objects.get(name="hug")
    ReactionCommand.objects.create(name="ping", asset=hug, caption_target="{actor} {target}", caption_alone="{actor}")
    ReactionCommand.objects.create(
        name="cuddly", aliases=["hug"], asset=hug, caption_target="{actor} {target}", caption_alone="{actor}"
    )
    with caplog.at_level(logging.WARNING, logger="bot.dispatch.gif_commands"):
        bot.run(".menu")
        clock.advance(11)
        bot.run(".menu")
    assert bot.run_text(".ping").lower().startswith("pong")  # the built-in still answers
    assert bot.run(".hug", chat=GROUP)[0].text.endswith("wants a hug 🤗")
    warnings = [r for r in caplog.records if r.getMessage() == "declared GIF command skipped"]
    assert sorted(r.command for r in warnings) == ["cuddly", "ping"]


def test_the_admin_form_checks_words_and_captions_like_the_import(admin_client, starter) -> None:
    hug = GifAsset.objects.get(name="hug")
    url = "/admin/bot/reactioncommand/add/"
    base = {
        "asset": hug.pk,
        "caption_target": "{actor} squeezes {target}",
        "caption_alone": "{actor} squeezes",
        "emoji": "",
    }
    clash = admin_client.post(url, {**base, "name": "squeeze", "aliases": "ping"})
    assert clash.status_code == 200 and ".ping is already the built-in command .ping" in clash.content.decode()
    bad = admin_client.post(url, {**base, "name": "squeeze", "caption_alone": "{actor} squeezes {target}"})
    assert "may only use {actor}, found {target}" in bad.content.decode()
    assert not ReactionCommand.objects.exists()
    ok = admin_client.post(url, {**base, "name": "Squeeze", "aliases": "hugsq, SQ"})
    assert ok.status_code == 302
    row = ReactionCommand.objects.get()
    assert (row.name, row.aliases) == ("squeeze", ["hugsq", "sq"])
