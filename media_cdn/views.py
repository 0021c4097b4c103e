"""``/gifs/<name>.<ext>``: renditions with ETag, Range and long cache headers (a CDN's origin)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_http_methods

from media_cdn.ranges import UNSATISFIABLE, range_parse
from media_cdn.selectors import rendition_get, rendition_local_file

# Names are stable but a reconvert changes the bytes: a plain URL is cached for a week and
# revalidated by ETag; a URL pinned with ?v=<sha256 prefix> never changes, so it is immutable.
CACHE_PLAIN = "public, max-age=604800"
CACHE_PINNED = "public, max-age=31536000, immutable"


def _etag_matches(header: str, etag: str) -> bool:
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    return "*" in tags or etag in tags


@require_http_methods(["GET", "HEAD"])
def gif_serve(request: HttpRequest, name: str, ext: str) -> HttpResponse:
    rendition = rendition_get(name=name, kind=ext)
    if rendition is None:
        raise Http404("no such GIF")
    etag = f'"{rendition.sha256}"'
    pinned = request.GET.get("v", "")
    common = {
        "ETag": etag,
        "Cache-Control": CACHE_PINNED if pinned and rendition.sha256.startswith(pinned) else CACHE_PLAIN,
        "Accept-Ranges": "bytes",
    }
    if _etag_matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
        for key, value in common.items():
            response[key] = value
        return response

    path = rendition_local_file(rendition)
    if path is None:
        raise Http404("GIF file missing on this server")
    size = rendition.bytes
    wanted = request.headers.get("Range", "")
    if_range = request.headers.get("If-Range", "")
    span = range_parse(wanted, size) if wanted and (not if_range or if_range == etag) else None

    if span == UNSATISFIABLE:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif span is None:
        response = FileResponse(path.open("rb"), content_type=rendition.mimetype, filename=f"{name}.{ext}")
        response["Content-Length"] = str(size)
    else:
        with path.open("rb") as handle:
            handle.seek(span.start)
            body = handle.read(span.length)
        response = HttpResponse(body, status=206, content_type=rendition.mimetype)
        response["Content-Range"] = f"bytes {span.start}-{span.start + len(body) - 1}/{size}"
        response["Content-Length"] = str(len(body))
    for key, value in common.items():
        response[key] = value
    return response
