"""Fixtures for media_cdn: a wiped MEDIA_ROOT and a real HTTP server on 127.0.0.1 playing the CDN."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from media_cdn.resolver import resolver_reset


@pytest.fixture
def wiped_media_root(tmp_path: Path, settings) -> Path:
    """An empty MEDIA_ROOT, as on a dyno that just restarted (the database still has its rows)."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    yield root
    resolver_reset()


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_length: int | None = None  # None: the body's length; -1: no header (streamed until close)
    hang: bool = False  # accept the request, then send nothing until the test ends


@dataclass
class FakeCdn:
    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def serve(self, path: str, body: bytes, **kwargs) -> None:
        self.routes[path] = Route(body=body, **kwargs)


@pytest.fixture
def cdn() -> Iterator[FakeCdn]:
    """A real HTTP server on 127.0.0.1; unknown paths answer 404."""
    state = FakeCdn(base_url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:  # noqa: N802
            state.requests.append(self.path)
            route = state.routes.get(self.path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.hang:
                state.release.wait(30)
                return
            self.send_response(route.status)
            if route.content_length != -1:
                length = len(route.body) if route.content_length is None else route.content_length
                self.send_header("Content-Length", str(length))
            else:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}/gifs/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def starter(db) -> None:
    """The starter pack rows (loaded by the data migration; reloaded if a transactional test flushed them)."""
    from media_cdn.models import GifAsset
    from media_cdn.starter import STARTER_REACTIONS, starter_pack_install

    if GifAsset.objects.filter(name__in=list(STARTER_REACTIONS)).count() < len(STARTER_REACTIONS):
        starter_pack_install()
