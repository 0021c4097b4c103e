"""Ingest with the real ffmpeg: validation, conversion, dedupe, the starter pack and import_gifs."""

from __future__ import annotations

import io
import re
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from media_cdn.convert import ffmpeg_exe, ffmpeg_run
from media_cdn.limits import MP4_MAX_BYTES, ConversionError, InvalidGifError, MediaError
from media_cdn.models import GifAsset, GifRendition
from media_cdn.pipeline import gif_ingest, gif_probe, gif_reconvert, name_from_filename
from media_cdn.starter import STARTER_DIR, STARTER_REACTIONS
from media_cdn.storage import media_path

pytestmark = pytest.mark.usefixtures("starter")


def transparent_gif(path: Path, *, size=(333, 201), delays=(50, 0, 100, 200, 10)) -> Path:
    """An odd-sized GIF with a transparent background and uneven (some too small) frame delays."""
    frames = []
    for i in range(len(delays)):
        frame = Image.new("P", size, 0)
        frame.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
        for x in range(20 + i * 30, 80 + i * 30):
            for y in range(40, 100):
                frame.putpixel((x, y), 1 + i % 2)
        frames.append(frame)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=list(delays), loop=0, transparency=0)
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_gifs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_starter_pack_is_loaded_after_migrate_with_all_renditions() -> None:
    assert len(STARTER_REACTIONS) >= 20
    assets = GifAsset.objects.filter(name__in=list(STARTER_REACTIONS))
    assert assets.count() == len(STARTER_REACTIONS)
    for rendition in GifRendition.objects.filter(asset__in=assets).select_related("asset"):
        assert rendition.mimetype == GifRendition.MIMETYPES[rendition.kind]
        assert rendition.bytes == len(rendition.data)  # small enough to survive a wiped disk
        if rendition.kind == "mp4":
            assert rendition.bytes < MP4_MAX_BYTES
            assert rendition.width % 2 == 0 and rendition.height % 2 == 0
    kinds = set(GifRendition.objects.filter(asset__name="hug").values_list("kind", flat=True))
    assert kinds == {"gif", "mp4", "webp"}


def test_the_starter_gifs_are_the_projects_own_drawings(tmp_path) -> None:
    from media_cdn.starter.generate import write_gif

    for name in STARTER_REACTIONS:
        with Image.open(STARTER_DIR / f"{name}.gif") as image:
            assert image.format == "GIF" and image.size == (240, 240) and image.n_frames > 1
    for name in ("hug", "cry"):  # the committed files are exactly what the generator draws
        assert write_gif(name, tmp_path).read_bytes() == (STARTER_DIR / f"{name}.gif").read_bytes()


def test_the_mp4_is_h264_yuv420p_with_faststart_and_no_audio(wiped_media_root) -> None:
    rendition = GifRendition.objects.get(asset__name="dance", kind="mp4")
    data = bytes(rendition.data)
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: the index comes first
    path = wiped_media_root / "dance.mp4"
    path.write_bytes(data)
    info = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    video = [line for line in info.splitlines() if "Video:" in line]
    assert len(video) == 1 and "h264" in video[0] and "yuv420p" in video[0]
    assert f"{rendition.width}x{rendition.height}" in video[0]
    assert "Audio:" not in info


def test_an_odd_sized_transparent_gif_is_measured_by_pillow_and_converted_to_even_sizes(
    wiped_media_root, tmp_path
) -> None:
    result = gif_ingest(path=transparent_gif(tmp_path / "Odd One (2).gif"), category="test")
    assert result.status == "created" and result.name == "odd-one-2"
    asset = GifAsset.objects.get(name="odd-one-2")
    assert (asset.width, asset.height, asset.frames) == (333, 201, 5)
    assert asset.duration_seconds == pytest.approx(0.55)  # 50 + 100(0 -> default) + 100 + 200 + 100(10 -> default)
    mp4 = asset.renditions.get(kind="mp4")
    assert (mp4.width, mp4.height) == (332, 200)
    webp = asset.renditions.get(kind="webp")
    with Image.open(media_path(webp.path)) as sticker:
        assert sticker.size == (512, 512) and sticker.n_frames == 5 and sticker.mode == "RGBA"
    for rendition in asset.renditions.all():
        assert media_path(rendition.path).stat().st_size == rendition.bytes
    assert asset.thumbnail_jpeg[:2] == b"\xff\xd8"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PNG not really a gif", "not a GIF"),
        (b"GIF89a" + b"\x00" * 20, "broken GIF"),
    ],
)
def test_a_broken_file_is_refused_with_one_line(content: bytes, expected: str) -> None:
    with pytest.raises(InvalidGifError, match=expected) as info:
        gif_probe(content)
    assert "\n" not in str(info.value)


def test_a_truncated_gif_is_refused() -> None:
    data = (STARTER_DIR / "kiss.gif").read_bytes()
    with pytest.raises(InvalidGifError, match="broken GIF"):
        gif_probe(data[: len(data) // 3])


def test_import_gifs_reports_each_file_stores_nothing_for_bad_ones_and_fails_at_the_end(
    wiped_media_root, tmp_path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    transparent_gif(folder / "good.gif")
    (folder / "broken.gif").write_bytes(b"hello, not a gif")
    with (folder / "huge.gif").open("wb") as handle:  # sparse: 16 MB on paper, nothing to read
        handle.truncate(16 * 1024 * 1024)
    (folder / "notes.txt").write_text("ignored")
    before = GifAsset.objects.count()

    with pytest.raises(CommandError, match="2 of 3 file"):
        run(str(folder))
    assert GifAsset.objects.count() == before + 1
    assert GifAsset.objects.filter(name="good").exists()
    assert not GifAsset.objects.filter(name__in=["broken", "huge"]).exists()
    stored = {p.name for p in (wiped_media_root / "renditions").rglob("*.*")}
    assert len(stored) == 3  # good.gif, its mp4 and its webp: nothing from the bad files


def test_import_gifs_lines(wiped_media_root, tmp_path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    transparent_gif(folder / "good.gif")
    (folder / "broken.gif").write_bytes(b"hello")
    with (folder / "huge.gif").open("wb") as handle:
        handle.truncate(16 * 1024 * 1024)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_gifs", str(folder), stdout=out, stderr=err)
    lines = err.getvalue().splitlines()
    assert "FAILED broken.gif: not a GIF (no GIF87a/GIF89a header)" in lines
    assert any(re.fullmatch(r"FAILED huge\.gif: too large: 16\.0 MB \(limit 15 MB\)", line) for line in lines)
    assert re.search(r"created good: 333x201, 5 frames -> gif \d+ B, mp4 \d+ B, webp \d+ B", out.getvalue())
    assert "3 file(s): 1 imported, 0 replaced, 0 duplicate(s), 2 failed" in out.getvalue()


def test_importing_twice_creates_no_duplicates_and_runs_no_ffmpeg(wiped_media_root, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    transparent_gif(folder / "once.gif")
    (folder / "hug-again.gif").write_bytes((STARTER_DIR / "hug.gif").read_bytes())  # same bytes as the starter hug
    run(str(folder))
    count = GifAsset.objects.count()

    def no_ffmpeg(*args, **kwargs):
        raise AssertionError("ffmpeg ran for a duplicate")

    monkeypatch.setattr("media_cdn.convert.ffmpeg_run", no_ffmpeg)
    out, _ = run(str(folder))
    assert GifAsset.objects.count() == count
    assert "duplicate hug: same bytes as 'hug', nothing stored" in out
    assert "2 file(s): 0 imported, 0 replaced, 2 duplicate(s), 0 failed" in out


def test_a_taken_name_needs_replace(wiped_media_root, tmp_path) -> None:
    path = transparent_gif(tmp_path / "hug.gif")
    with pytest.raises(MediaError, match="name 'hug' is taken"):
        gif_ingest(path=path)
    result = gif_ingest(path=path, replace=True)
    assert result.status == "replaced"
    hug = GifAsset.objects.get(name="hug")
    assert hug.width == 333 and hug.renditions.count() == 3


def test_reconvert_rebuilds_the_renditions_from_the_database_copy_of_the_original(wiped_media_root) -> None:
    asset = GifAsset.objects.get(name="wink")
    old_ids = set(asset.renditions.values_list("pk", flat=True))
    result = gif_reconvert(asset=asset)
    assert result.status == "reconverted"
    renditions = GifAsset.objects.get(name="wink").renditions.all()
    assert {r.kind for r in renditions} == {"gif", "mp4", "webp"}
    assert old_ids.isdisjoint(r.pk for r in renditions)
    assert all(media_path(r.path).exists() for r in renditions)


def test_ffmpeg_that_runs_too_long_is_stopped() -> None:
    with pytest.raises(ConversionError, match="longer than 0.3 s"):
        ffmpeg_run(["-re", "-f", "lavfi", "-i", "testsrc=size=32x32", "-f", "null", "-"], timeout=0.3)


def test_a_missing_ffmpeg_is_one_clear_line(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("media_cdn.convert.ffmpeg_exe", lambda: str(tmp_path / "no-ffmpeg"))
    with pytest.raises(ConversionError, match="cannot run ffmpeg"):
        ffmpeg_run(["-version"])


@pytest.mark.parametrize(
    ("filename", "name"),
    [("Happy Dance (2).gif", "happy-dance-2"), ("hug.GIF", "hug"), ("__x__.gif", "x")],
)
def test_names_come_from_file_names(filename: str, name: str) -> None:
    assert name_from_filename(filename) == name


def test_import_gifs_starter_reloads_a_deleted_starter_gif(wiped_media_root) -> None:
    GifAsset.objects.filter(name="sleep").delete()
    out, _ = run("--starter")
    assert "starter pack: 1 loaded, 0 failed" in out
    assert GifAsset.objects.filter(name="sleep", category="expression").exists()


def test_prune_removes_only_old_files_no_rendition_points_at(wiped_media_root, tmp_path) -> None:
    from media_cdn.pipeline import media_files_prune

    path = transparent_gif(tmp_path / "tmp-asset.gif")
    gif_ingest(path=path, name="tmp-asset")
    old_paths = set(GifAsset.objects.get(name="tmp-asset").renditions.values_list("path", flat=True))
    gif_ingest(path=transparent_gif(tmp_path / "other.gif", delays=(70, 70)), name="tmp-asset", replace=True)
    stray_cache = wiped_media_root / "cache" / ("0" * 64 + ".mp4")
    stray_cache.parent.mkdir(parents=True)
    stray_cache.write_bytes(b"stale")

    assert media_files_prune()["removed_files"] == 0  # everything is younger than an hour
    summary = media_files_prune(now=time.time() + 7200)
    kept = set(GifAsset.objects.get(name="tmp-asset").renditions.values_list("path", flat=True))
    assert summary["removed_files"] == len(old_paths - kept) + 1
    assert all((wiped_media_root / p).exists() for p in kept)
    assert not any((wiped_media_root / p).exists() for p in old_paths - kept)
    assert not stray_cache.exists()
