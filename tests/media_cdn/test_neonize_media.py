"""The neonize side builds the video/sticker message itself: one upload, no ffprobe, no ffmpeg.

neonize never loads into the test process (a process that imported it must not fork), so the
fake-FFI client runs in a subprocess (``neonize_fake_ffi.py``) and reports what reached "Go".
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from media_cdn.resolver import MediaResolver

pytestmark = pytest.mark.usefixtures("starter")

SCRIPT = Path(__file__).with_name("neonize_fake_ffi.py")
ROOT = Path(__file__).resolve().parents[2]


def send_through_fake_go(tmp_path: Path, media, kind: str, caption: str, mentions: list[str]) -> dict:
    media_file = tmp_path / "media.bin"
    media_file.write_bytes(media.data)
    fields = {
        "mimetype": media.mimetype,
        "sha256": media.sha256,
        "width": media.width,
        "height": media.height,
        "duration_seconds": media.duration_seconds,
        "gif_playback": media.gif_playback,
        "asset": media.asset,
    }
    fields_json = json.dumps(fields)
    (tmp_path / "thumb.jpg").write_bytes(media.thumbnail_jpeg)
    env = {"PATH": str(tmp_path / "empty-bin"), "PYTHONPATH": str(ROOT), "THUMBNAIL_FILE": str(tmp_path / "thumb.jpg")}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(media_file), fields_json, kind, caption, ",".join(mentions)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_reaction_video_is_uploaded_once_and_sent_with_gif_playback_and_mentions(tmp_path) -> None:
    media = MediaResolver().resolve("hug")
    alice, bob = "15550001111@s.whatsapp.net", "15550002222@s.whatsapp.net"
    report = send_through_fake_go(tmp_path, media, "video", "@15550001111 hugs @15550002222", [alice, bob])

    assert report["id"] == "3EB0FAKE" and report["to"] == "120363012345678901@g.us"
    assert report["uploads"] == [{"bytes": len(media.data), "sha256": media.sha256, "media_type": 1}]  # MediaVideo
    video = report["message"]["videoMessage"]
    assert video["gifPlayback"] is True
    assert video["mimetype"] == "video/mp4"
    assert video["seconds"] == 2  # 1.08 s, rounded up: never 0 for a real clip
    assert (video["width"], video["height"]) == (media.width, media.height)
    assert int(video["fileLength"]) == len(media.data)
    assert base64.b64decode(video["fileSHA256"]) == hashlib.sha256(media.data).digest()
    assert video["caption"] == "@15550001111 hugs @15550002222"
    assert video["contextInfo"]["mentionedJID"] == [alice, bob]
    assert base64.b64decode(video["JPEGThumbnail"]) == media.thumbnail_jpeg


def test_a_sticker_is_sent_as_an_animated_webp_without_conversion(tmp_path) -> None:
    media = MediaResolver().resolve("wave", kind="webp")
    report = send_through_fake_go(tmp_path, media, "sticker", "", [])
    sticker = report["message"]["stickerMessage"]
    assert sticker["mimetype"] == "image/webp" and sticker["isAnimated"] is True
    assert (sticker["width"], sticker["height"]) == (512, 512)
    assert report["uploads"][0]["sha256"] == media.sha256 and report["uploads"][0]["media_type"] == 0
