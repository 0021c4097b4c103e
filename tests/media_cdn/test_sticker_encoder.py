"""The one sticker encoder on real inputs generated here (Pillow and ffmpeg): WhatsApp's limits, the pack
EXIF read back, and every hostile input refused from its headers with one reason."""

from __future__ import annotations

import io
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from media_cdn import sticker as encoder
from media_cdn.convert import GifInfo, convert_webp, ffmpeg_exe
from media_cdn.limits import STICKER_MAX_BYTES, STICKER_STATIC_MAX_BYTES
from media_cdn.sticker import sticker_make, sticker_retag, sticker_to_mp4, sticker_to_png
from media_cdn.sticker_probe import StickerError, gif_scan, source_probe
from media_cdn.webp_meta import webp_info, webp_pack


def make_gif(path: Path, *, frames: int, size: tuple[int, int] = (64, 48), delay_ms: int = 100) -> Path:
    pictures = [Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, 120)) for i in range(frames)]
    for i, picture in enumerate(pictures):  # a moving square, so frames differ
        picture.paste((255, 255, 255), (i % size[0], 4, i % size[0] + 8, 12))
    pictures[0].save(path, save_all=frames > 1, append_images=pictures[1:], duration=delay_ms, loop=0)
    return path


def make_video(path: Path, *, seconds: float, size: str = "160x120", rate: int = 25) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def check_sticker(data: bytes, *, animated: bool, pack: str, author: str) -> None:
    info = webp_info(data)
    assert (info.width, info.height) == (512, 512)
    assert info.animated is animated
    assert len(data) <= (STICKER_MAX_BYTES if animated else STICKER_STATIC_MAX_BYTES)
    assert info.duration_ms <= 10_000
    meta = webp_pack(data)
    assert meta["sticker-pack-name"] == pack and meta["sticker-pack-publisher"] == author
    assert meta["sticker-pack-id"].startswith("blacksky-")
    with Image.open(io.BytesIO(data)) as image:  # Pillow decodes it: a valid WebP with its EXIF
        assert image.size == (512, 512) and image.mode in {"RGB", "RGBA"}  # RGB: nothing transparent


def test_a_wide_picture_is_a_still_sticker_with_transparent_padding_and_its_pack(tmp_path):
    Image.new("RGB", (900, 300), (200, 30, 30)).save(tmp_path / "wide.png")
    made = sticker_make(tmp_path / "wide.png", workdir=tmp_path, pack="Cats", author="Ann")
    check_sticker(made.data, animated=False, pack="Cats", author="Ann")
    with Image.open(io.BytesIO(made.data)) as image:
        rgba = image.convert("RGBA")
        assert rgba.getpixel((256, 0))[3] == 0  # padding above the picture: transparent
        assert rgba.getpixel((256, 256))[:3] == pytest.approx((200, 30, 30), abs=12)


def test_a_one_frame_gif_becomes_a_still_sticker_under_100_kb_not_an_animated_one(tmp_path):
    source = make_gif(tmp_path / "one.gif", frames=1, size=(400, 400))
    made = sticker_make(source, workdir=tmp_path, pack="P", author="A")
    assert not made.animated and made.duration_seconds == 0
    check_sticker(made.data, animated=False, pack="P", author="A")


def test_a_gif_over_10_seconds_is_trimmed_to_10(tmp_path):
    source = make_gif(tmp_path / "long.gif", frames=26, delay_ms=400)  # 10.4 s
    assert gif_scan(source.read_bytes()).duration_seconds == pytest.approx(10.4)
    made = sticker_make(source, workdir=tmp_path, pack="P", author="A")
    assert made.animated and made.trimmed and made.duration_seconds <= 10.0
    check_sticker(made.data, animated=True, pack="P", author="A")


def test_a_short_video_becomes_an_animated_sticker_at_15_fps_at_most(tmp_path):
    source = make_video(tmp_path / "clip.mp4", seconds=1.2)
    info = source_probe(source, ffmpeg=ffmpeg_exe(), max_bytes=10**7)
    assert (info.kind, info.width, info.height, info.fps) == ("video", 160, 120, 25.0)
    made = sticker_make(source, workdir=tmp_path, pack="P", author="A")
    assert made.animated and not made.trimmed and made.frames <= 18
    check_sticker(made.data, animated=True, pack="P", author="A")


def test_what_cannot_fit_is_said_after_every_smaller_try(tmp_path, monkeypatch):
    source = make_gif(tmp_path / "g.gif", frames=4)
    monkeypatch.setattr(encoder, "STICKER_MAX_BYTES", 200)
    with pytest.raises(StickerError) as info:
        sticker_make(source, workdir=tmp_path)
    assert info.value.reason == "cannot_fit" and "\n" not in str(info.value)


def _gif_header(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0)


def _gif_frame() -> bytes:
    return b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("huge.gif", _gif_header(60000, 60000) + _gif_frame() + b"\x3b", "too_large"),
        ("frames.gif", _gif_header(8, 8) + _gif_frame() * 5000 + b"\x3b", "too_large"),
        ("huge.webp", b"RIFF" + struct.pack("<I", 22) + b"WEBPVP8X" + struct.pack("<I", 10) + b"\x10\x00\x00\x00"
         + (16383).to_bytes(3, "little") * 2, "too_large"),
        ("empty.gif", _gif_header(8, 8) + b"\x3b", "unreadable"),
        ("noise.bin", bytes(range(256)) * 40, "unreadable"),  # ffmpeg reads it as "bintext": not a video
        ("list.m3u8", b"#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n", "unreadable"),
        ("cut.jpg", None, "unreadable"),
        ("bomb.png", None, "too_large"),
    ],
)  # fmt: skip
def test_a_hostile_or_corrupt_file_is_refused_with_one_reason_before_decoding(tmp_path, name, content, reason):
    path = tmp_path / name
    if name == "cut.jpg":
        Image.effect_noise((300, 300), 80).convert("RGB").save(path, quality=90)
        path.write_bytes(path.read_bytes()[:2000])
    elif name == "bomb.png":  # 60 bytes on disk, 400 million pixels once decoded
        header = struct.pack(">IIBBBBB", 20000, 20000, 1, 0, 0, 0, 0)

        def chunk(kind: bytes, body: bytes) -> bytes:
            return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    else:
        path.write_bytes(content)
    started = time.perf_counter()
    with pytest.raises(StickerError) as info:
        sticker_make(path, workdir=tmp_path)
    assert info.value.reason == reason, str(info.value)
    assert "\n" not in str(info.value)
    assert time.perf_counter() - started < 5


def test_pack_text_of_10000_characters_is_refused_before_any_work(tmp_path):
    with pytest.raises(StickerError) as info:
        sticker_make(tmp_path / "missing.png", workdir=tmp_path, pack="x" * 10_000)
    assert info.value.reason == "text_too_long"


def test_a_file_over_the_cap_is_refused_by_its_size(tmp_path):
    path = make_gif(tmp_path / "g.gif", frames=2)
    with pytest.raises(StickerError) as info:
        sticker_make(path, workdir=tmp_path, max_bytes=100)
    assert info.value.reason == "too_large"


def test_take_retags_without_reencoding_and_the_sticker_converts_back(tmp_path):
    source = make_gif(tmp_path / "g.gif", frames=6)
    made = sticker_make(source, workdir=tmp_path, pack="Old", author="Someone")
    (tmp_path / "in.webp").write_bytes(made.data)
    retagged = sticker_retag(tmp_path / "in.webp", pack="Mine", author="Me")
    assert webp_pack(retagged.data)["sticker-pack-name"] == "Mine"
    assert webp_info(retagged.data).frames == webp_info(made.data).frames == 6
    assert retagged.data.count(b"ANMF") == made.data.count(b"ANMF")  # image chunks copied as they were
    png = sticker_to_png(tmp_path / "in.webp")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (512, 512)
    mp4, width, height, seconds = sticker_to_mp4(tmp_path / "in.webp", workdir=tmp_path)
    assert mp4[4:8] == b"ftyp" and (width, height) == (512, 512) and seconds == pytest.approx(0.6)


def test_a_still_pillow_webp_without_vp8x_gets_its_exif_header(tmp_path):
    out = io.BytesIO()
    Image.new("RGB", (512, 512), (1, 2, 3)).save(out, format="WEBP", lossless=True)
    assert webp_info(out.getvalue()).has_exif is False
    (tmp_path / "s.webp").write_bytes(out.getvalue())
    tagged = sticker_retag(tmp_path / "s.webp", pack="P", author="A")
    assert webp_pack(tagged.data)["sticker-pack-publisher"] == "A"
    with Image.open(io.BytesIO(tagged.data)) as image:
        assert image.size == (512, 512)


def test_media_cdn_renditions_obey_the_same_limits(tmp_path, settings):
    settings.STICKER_PACK, settings.STICKER_AUTHOR = "GIFs", "Ops"
    long = make_gif(tmp_path / "long.gif", frames=26, delay_ms=400)
    info = GifInfo(sha256="", bytes=0, width=64, height=48, frames=26, duration_seconds=10.4)
    rendition = convert_webp(long, info, workdir=tmp_path)
    assert rendition is not None and rendition.duration_seconds <= 10.0
    check_sticker(rendition.data, animated=True, pack="GIFs", author="Ops")
    one = make_gif(tmp_path / "one.gif", frames=1, size=(400, 400))
    info = GifInfo(sha256="", bytes=0, width=400, height=400, frames=1, duration_seconds=0.1)
    rendition = convert_webp(one, info, workdir=tmp_path)
    assert rendition is not None and rendition.duration_seconds == 0
    check_sticker(rendition.data, animated=False, pack="GIFs", author="Ops")


def test_a_phone_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    photo = Image.new("RGB", (900, 300), (250, 0, 0))
    exif = photo.getexif()
    exif[0x0112] = 6  # taken sideways: shown rotated by 90 degrees
    photo.save(tmp_path / "phone.jpg", exif=exif)
    made = sticker_make(tmp_path / "phone.jpg", workdir=tmp_path)
    with Image.open(io.BytesIO(made.data)) as image:
        rgba = image.convert("RGBA")
        assert rgba.getpixel((5, 256))[3] == 0 and rgba.getpixel((256, 5))[3] == 255  # tall now: padded left/right


def test_a_webp_of_thousands_of_frames_is_refused_from_its_chunks(tmp_path):
    frame = b"ANMF" + struct.pack("<I", 16) + bytes(12) + (100).to_bytes(3, "little") + b"\x00"
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x02\x00\x00\x00" + (63).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + frame * 3001
    (tmp_path / "many.webp").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    with pytest.raises(StickerError) as info:
        sticker_make(tmp_path / "many.webp", workdir=tmp_path)
    assert info.value.reason == "too_large" and "3001 frames" in str(info.value)
