"""/gifs/<name>.<ext>: ETag, conditional GET, Range requests and cache headers."""

from __future__ import annotations

import pytest

from media_cdn.models import GifRendition

pytestmark = pytest.mark.usefixtures("starter")


def rendition(name: str = "hug", kind: str = "mp4") -> tuple[GifRendition, bytes]:
    row = GifRendition.objects.get(asset__name=name, kind=kind)
    return row, bytes(row.data)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_it_serves_a_rendition_with_etag_and_long_cache_headers(client) -> None:
    row, data = rendition()
    response = client.get("/gifs/hug.mp4")
    assert response.status_code == 200
    assert body(response) == data
    assert response["Content-Type"] == "video/mp4"
    assert response["Content-Length"] == str(len(data))
    assert response["ETag"] == f'"{row.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["Cache-Control"] == "public, max-age=604800"


def test_a_url_pinned_to_the_checksum_is_immutable(client) -> None:
    row, _ = rendition("wave", "gif")
    response = client.get(f"/gifs/wave.gif?v={row.sha256[:12]}")
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get("/gifs/wave.gif?v=deadbeef")["Cache-Control"] == "public, max-age=604800"


def test_a_matching_if_none_match_gets_304_without_a_body(client) -> None:
    row, _ = rendition()
    response = client.get("/gifs/hug.mp4", HTTP_IF_NONE_MATCH=f'"other", "{row.sha256}"')
    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == f'"{row.sha256}"'
    assert client.get("/gifs/hug.mp4", HTTP_IF_NONE_MATCH='"other"').status_code == 200


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None), ("bytes=10-999999", 10, None)],
)
def test_a_range_request_gets_206_and_exactly_those_bytes(client, header, start, end) -> None:
    _, data = rendition()
    response = client.get("/gifs/hug.mp4", HTTP_RANGE=header)
    expected = data[start : (end + 1 if end is not None else None)]
    first = start if start >= 0 else len(data) + start
    assert response.status_code == 206
    assert response.content == expected
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    assert response["Content-Length"] == str(len(expected))


def test_a_range_past_the_end_is_416(client) -> None:
    _, data = rendition()
    response = client.get("/gifs/hug.mp4", HTTP_RANGE=f"bytes={len(data)}-")
    assert response.status_code == 416 and response["Content-Range"] == f"bytes */{len(data)}"


def test_multiple_ranges_or_a_stale_if_range_get_the_whole_file(client) -> None:
    _, data = rendition()
    assert client.get("/gifs/hug.mp4", HTTP_RANGE="bytes=0-1,5-6").status_code == 200
    response = client.get("/gifs/hug.mp4", HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"old-etag"')
    assert response.status_code == 200 and body(response) == data


def test_a_wiped_disk_is_served_from_the_database_copy(client, wiped_media_root) -> None:
    _, data = rendition("cry", "webp")
    response = client.get("/gifs/cry.webp")
    assert response.status_code == 200 and body(response) == data
    assert response["Content-Type"] == "image/webp"
    assert any(wiped_media_root.rglob("*.webp"))  # put back on disk for the next request


def test_unknown_names_and_kinds_are_404(client) -> None:
    assert client.get("/gifs/nope.mp4").status_code == 404
    assert client.get("/gifs/hug.avi").status_code == 404
    assert client.get("/gifs/../settings.py").status_code == 404


def test_a_rendition_with_no_file_and_no_database_copy_is_404(client, wiped_media_root) -> None:
    GifRendition.objects.filter(asset__name="hug", kind="gif").update(data=None)
    assert client.get("/gifs/hug.gif").status_code == 404


def test_only_get_and_head_are_allowed(client) -> None:
    assert client.post("/gifs/hug.mp4").status_code == 405
    head = client.head("/gifs/hug.mp4")
    assert head.status_code == 200 and head["ETag"]
