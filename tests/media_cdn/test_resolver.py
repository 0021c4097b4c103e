"""The resolver chain: memory -> local rendition -> disk cache -> CDN/network -> None."""

from __future__ import annotations

import hashlib
import logging

import pytest

from media_cdn.models import GifRendition
from media_cdn.resolver import MediaResolver, resolve_media
from media_cdn.storage import cache_path, media_path

pytestmark = pytest.mark.usefixtures("starter")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_resolver(cdn_url: str = "", *, use_cdn: bool = False, clock=None, **kwargs) -> MediaResolver:
    options = {"connect_timeout": 0.5, "read_timeout": 0.3, "total_timeout": 2.0}
    options.update(kwargs)
    if clock is not None:
        options["clock"] = clock
    return MediaResolver(cdn_url=cdn_url, use_cdn=use_cdn, **options)


def mp4_row(name: str = "hug") -> GifRendition:
    return GifRendition.objects.select_related("asset").get(asset__name=name, kind="mp4")


def rendition_bytes(row: GifRendition) -> bytes:
    return bytes(GifRendition.objects.get(pk=row.pk).data)


def without_database_copy(name: str = "hug", kind: str = "mp4") -> bytes:
    """Drop the database copy (as for a rendition too big to keep there); returns the bytes it held."""
    row = GifRendition.objects.get(asset__name=name, kind=kind)
    data = bytes(row.data)
    GifRendition.objects.filter(pk=row.pk).update(data=None)
    return data


def test_it_resolves_a_local_rendition_with_everything_whatsapp_needs() -> None:
    media = make_resolver().resolve("hug")
    row = mp4_row()
    assert media is not None
    assert media.mimetype == "video/mp4" and media.gif_playback is True
    assert media.sha256 == row.sha256 == hashlib.sha256(media.data).hexdigest()
    assert (media.width, media.height) == (row.width, row.height)
    assert media.duration_seconds == pytest.approx(1.08)
    assert media.thumbnail_jpeg.startswith(b"\xff\xd8")
    assert media.asset == "hug"


def test_a_memory_hit_needs_no_query_until_the_metadata_ttl_passes(django_assert_num_queries) -> None:
    clock = Clock()
    resolver = make_resolver(clock=clock, meta_ttl=60)
    first = resolver.resolve("hug")
    with django_assert_num_queries(0):
        assert resolver.resolve("hug") is first
    clock.now += 61
    with django_assert_num_queries(1):  # one sha256 check, then served from memory again
        assert resolver.resolve("hug") is first


def test_a_reconverted_asset_is_picked_up_after_the_ttl(wiped_media_root) -> None:
    clock = Clock()
    resolver = make_resolver(clock=clock, meta_ttl=60)
    old = resolver.resolve("hug")
    GifRendition.objects.filter(asset__name="hug", kind="mp4").update(sha256="0" * 64)
    clock.now += 61
    assert resolver.resolve("hug") is None  # the recorded checksum no longer matches any copy
    assert ("hug", "mp4") not in resolver.memory
    assert old is not None


def test_a_wiped_disk_is_served_from_the_database_copy_and_the_file_is_put_back(wiped_media_root) -> None:
    row = mp4_row()
    media = make_resolver().resolve("hug")
    assert media is not None and media.sha256 == row.sha256
    assert media_path(row.path).read_bytes() == media.data


def test_wiped_media_with_use_cdn_media_resolves_from_the_cdn(wiped_media_root, cdn) -> None:
    data = without_database_copy()
    cdn.serve("/gifs/hug.mp4", data)
    media = make_resolver(cdn.base_url, use_cdn=True).resolve("hug")
    assert media is not None and media.data == data
    assert cdn.requests == ["/gifs/hug.mp4"]
    assert cache_path(media.sha256, "mp4").read_bytes() == data


def test_use_cdn_media_goes_to_the_cdn_before_the_local_copy(cdn) -> None:
    row = mp4_row()
    cdn.serve("/gifs/hug.mp4", rendition_bytes(row))
    assert make_resolver(cdn.base_url, use_cdn=True).resolve("hug") is not None
    assert cdn.requests == ["/gifs/hug.mp4"]


def test_a_disk_cache_copy_spares_the_second_process_a_download(wiped_media_root, cdn) -> None:
    cdn.serve("/gifs/hug.mp4", without_database_copy())
    assert make_resolver(cdn.base_url).resolve("hug") is not None
    assert make_resolver(cdn.base_url).resolve("hug") is not None  # a new process: empty memory
    assert cdn.requests == ["/gifs/hug.mp4"]


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        ({"status": 404}, "HTTP 404"),
        ({"hang": True}, "too slow"),
        ("wrong", "checksum mismatch"),
        ("declared_too_large", "too large"),
        ("streamed_too_large", "too large"),
    ],
    ids=["404", "too-slow", "wrong-checksum", "declared-too-large", "streamed-too-large"],
)
def test_a_failing_cdn_gives_none_and_a_log_line(wiped_media_root, cdn, caplog, route, reason) -> None:
    data = without_database_copy()
    if route == "wrong":
        cdn.serve("/gifs/hug.mp4", bytes(reversed(data)))
    elif route == "declared_too_large":
        cdn.serve("/gifs/hug.mp4", data + b"x" * 10)
    elif route == "streamed_too_large":
        cdn.serve("/gifs/hug.mp4", data + b"x" * 200_000, content_length=-1)
    else:
        cdn.serve("/gifs/hug.mp4", b"", **route)
    with caplog.at_level(logging.WARNING, logger="media_cdn.resolver"):
        assert make_resolver(cdn.base_url, use_cdn=True).resolve("hug") is None
    failures = [r for r in caplog.records if r.getMessage() == "media fetch failed"]
    assert len(failures) == 1 and reason in failures[0].reason
    assert "text only" in caplog.records[-1].getMessage()
    cache_dir = wiped_media_root / "cache"
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []  # no partial or unverified file kept


def test_the_original_gif_falls_back_to_its_source_url(wiped_media_root, cdn) -> None:
    data = without_database_copy(kind="gif")
    from media_cdn.models import GifAsset

    GifAsset.objects.filter(name="hug").update(source_url=f"{cdn.base_url}originals/hug-source.gif")
    cdn.serve("/gifs/originals/hug-source.gif", data)
    media = make_resolver().resolve("hug", kind="gif")
    assert media is not None and media.mimetype == "image/gif" and media.gif_playback is False
    assert cdn.requests == ["/gifs/originals/hug-source.gif"]


def test_an_unknown_asset_is_none_with_a_log_line(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="media_cdn.resolver"):
        assert make_resolver().resolve("no-such-gif") is None
    assert caplog.records[-1].getMessage() == "media unknown, sending text only"


def test_a_corrupt_local_file_is_skipped_and_replaced(wiped_media_root) -> None:
    row = mp4_row()
    original = make_resolver().resolve("hug").data  # puts the file back from the database copy
    path = media_path(row.path)
    path.write_bytes(b"\0" * len(original))
    media = make_resolver().resolve("hug")
    assert media is not None and media.data == original
    assert path.read_bytes() == original


def test_the_memory_cache_stays_within_its_byte_bound() -> None:
    resolver = make_resolver(cache_bytes=60_000)
    for name in ["hug", "kiss", "slap", "bonk", "punch", "bite", "dance", "laugh"]:
        assert resolver.resolve(name) is not None
        assert resolver.memory.total_bytes <= 60_000
    assert 0 < len(resolver.memory) < 8


def test_resolve_media_uses_the_settings(settings, wiped_media_root, cdn) -> None:
    cdn.serve("/gifs/wave.webp", without_database_copy("wave", "webp"))
    settings.MEDIA_CDN_URL = cdn.base_url
    settings.USE_CDN_MEDIA = True
    media = resolve_media("wave", kind="webp")
    assert media is not None and media.mimetype == "image/webp" and not media.gif_playback
    assert (media.width, media.height) == (512, 512)


def test_reply_kinds_name_their_renditions() -> None:
    resolver = make_resolver()
    assert resolver.resolve("hug", kind="video").mimetype == "video/mp4"
    assert resolver.resolve("hug", kind="sticker").mimetype == "image/webp"
    assert resolver.resolve("hug", kind="image").mimetype == "image/gif"


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        make_resolver().resolve("hug", kind="avi")
