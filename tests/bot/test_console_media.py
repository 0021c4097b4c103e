# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Media in the console: ``media`` / ``quoted_media`` on input lines, the capped copy that stands for a
download, every outgoing media kind as one JSON line, and the sticker commands in a simulated group
through the real ``runbot --transport console``."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from PIL import Image

from bot.transport.base import Media, MediaDownloadError, Reply
from bot.transport.console import ConsoleInputError, ConsoleTransport
from bot.transport.console_media import media_copy, reply_render
from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

GROUP = "120363000000000091@g.us"


def write_png(path, size=(200, 120)):
    Image.new("RGB", size, (10, 200, 90)).save(path)
    return path


def test_a_line_carries_its_own_media_and_the_quoted_media(tmp_path):
    console = ConsoleTransport(stdin=io.StringIO(), stdout=io.StringIO())
    png = write_png(tmp_path / "cat.png")
    line = {"text": ".sticker", "media": {"path": str(png), "mimetype": "image/png"}}
    message = console.parse_line(json.dumps(line))
    assert (message.kind, message.text, message.media.kind, message.media.size) == (
        "image",
        ".sticker",
        "image",
        png.stat().st_size,
    )
    webp = tmp_path / "s.webp"
    Image.new("RGBA", (512, 512)).save(webp, format="WEBP")
    quoted = console.parse_line(
        json.dumps({"text": ".toimg", "quoted_media": {"path": str(webp), "mimetype": "image/webp"}})
    )
    assert quoted.media is None and (quoted.quoted_media.kind, quoted.quoted_media.animated) == ("sticker", False)


@pytest.mark.parametrize(
    ("media", "words"),
    [
        ({"path": "/nonexistent/x.png", "mimetype": "image/png"}, "No such file"),
        ({"path": 5}, "must be an object"),
        ({"path": "x", "mimetype": "image/png", "size": 3}, "must be an object"),
        ({"path": "x", "mimetype": "png"}, "MIME type"),
    ],
)
def test_a_bad_media_field_is_one_refused_line(media, words):
    console = ConsoleTransport(stdin=io.StringIO(), stdout=io.StringIO())
    with pytest.raises(ConsoleInputError) as info:
        console.parse_line(json.dumps({"text": ".s", "media": media}))
    assert words in str(info.value)


def test_the_copy_that_stands_for_a_download_stops_at_the_cap(tmp_path):
    console = ConsoleTransport(stdin=io.StringIO(), stdout=io.StringIO())
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * 300_000)
    message = console.parse_line(json.dumps({"text": ".s", "media": {"path": str(big), "mimetype": "video/mp4"}}))
    with pytest.raises(MediaDownloadError) as info:
        media_copy(message.media, dest=tmp_path / "out", max_bytes=100_000)
    assert info.value.too_large
    assert console.download_media(message.media, dest=tmp_path / "ok", max_bytes=400_000) == 300_000


def test_a_sticker_and_a_new_kind_print_their_kind_mimetype_bytes_and_sha256():
    data = b"RIFF....WEBPVP8 "
    sticker = Reply(kind="sticker", chat=GROUP, media=Media(data=data, mimetype="image/webp"), asset="made:4")
    line = reply_render(sticker)
    assert (line["kind"], line["mimetype"], line["bytes"], line["sha256"]) == (
        "sticker",
        "image/webp",
        len(data),
        hashlib.sha256(data).hexdigest(),
    )
    poll = reply_render(Reply(kind="poll", chat=GROUP, text="Lunch?", options=("pizza", "soup")))
    assert (poll["kind"], poll["options"], poll["mimetype"], poll["bytes"]) == (
        "poll",
        ["pizza", "soup"],
        "text/plain",
        17,
    )
    assert poll["sha256"] == hashlib.sha256(b"Lunch?\npizza\nsoup").hexdigest()
    later = reply_render(Reply(kind="call", chat=GROUP, text="x", media=Media(data=b"ab", mimetype="a/b")))  # type: ignore[arg-type]
    assert (later["kind"], later["mimetype"], later["bytes"]) == ("call", "a/b", 2)
    assert "sha256" not in reply_render(Reply(kind="text", chat=GROUP, text="hi"))


@pytest.mark.slow
def test_sticker_commands_in_a_simulated_group_through_the_console(runbot_env, tmp_path):
    png = write_png(tmp_path / "dog.png")
    frames = [Image.new("RGB", (48, 48), (i * 70, 20, 20)) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    huge = tmp_path / "huge.mp4"
    with huge.open("wb") as handle:  # sparse: 50 MB on paper
        handle.truncate(50 * 1024 * 1024)
    group = {"name": "Stickers", "admins": ["15551234567"]}

    def line(sender, text, **media):
        return json.dumps({"chat": GROUP, "group": group, "sender": sender, "text": text, **media})

    runbot_env.update({"TYPING_SECONDS": "0", "OUTBOUND_PER_MINUTE": "600", "OUTBOUND_CHAT_PER_MINUTE": "600"})
    runbot_env["STICKER_PACK"] = "Console pack"
    bot = Runbot(["--transport", "console"], runbot_env, tmp_path)
    for text in (
        line("15550000001", ".sticker", media={"path": str(png), "mimetype": "image/png"}),
        line("15550000002", ".s", quoted_media={"path": str(tmp_path / "a.gif"), "mimetype": "image/gif"}),
        line("15550000003", ".s", quoted_media={"path": str(huge), "mimetype": "video/mp4"}),
        line("15550000004", ".s"),
        line("15550000005", ".s", media={"path": str(tmp_path / "missing.png"), "mimetype": "image/png"}),
        line("15550000006", ".ping"),
    ):
        bot.process.stdin.write(text + "\n")
    bot.process.stdin.close()
    code, out = bot.wait(90)
    assert code == 0, bot.log
    printed = [json.loads(row) for row in out.splitlines()]
    stickers = [row for row in printed if row["kind"] == "sticker"]
    assert len(stickers) == 2 and all(row["chat"] == GROUP and row["mimetype"] == "image/webp" for row in stickers)
    assert all(len(row["sha256"]) == 64 and 0 < row["bytes"] <= 500 * 1024 for row in stickers)
    texts = sorted(row["text"] for row in printed if row["kind"] == "text")
    assert texts[0] == "Reply to an image, a GIF or a short video with .s, or send one with .s as its caption."
    assert "That file is 50 MB; I make stickers from files up to 16 MB." in texts
    assert any(text.startswith("pong") for text in texts) and len(texts) == 3
    assert "console line skipped" in bot.log and "missing.png" in bot.log
