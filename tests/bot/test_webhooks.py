"""Connection webhooks: signed, retried, recorded, and never in the bot's way.

Every peer is a real HTTP server on 127.0.0.1 started by the test.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.models import WebhookDelivery
from bot.webhooks import SIGNATURE_HEADER, WebhookSender, webhook_body, webhook_signature, webhook_verify

AT = datetime(2026, 11, 28, 3, 0, 5, tzinfo=UTC)
SECRET = "webhook-test-secret"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingServer:
    """An HTTP server on 127.0.0.1 whose answers come from ``respond(n)`` (n = request number, from 1)."""

    respond: Callable[[int], tuple[int, bytes]]
    requests: list[Received] = field(default_factory=list)
    hold: threading.Event | None = None  # when set up, every request waits for it before answering
    received: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.requests.append(Received(self.command, self.path, dict(self.headers), body))
                owner.received.set()
                if owner.hold is not None:
                    owner.hold.wait(30)
                status, payload = owner.respond(len(owner.requests))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_DELETE = do_GET = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[..., RecordingServer]]:
    servers: list[RecordingServer] = []

    def start(respond: Callable[[int], tuple[int, bytes]], hold: threading.Event | None = None) -> RecordingServer:
        server = RecordingServer(respond=respond, hold=hold)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def ok(_: int) -> tuple[int, bytes]:
    return 200, b"{}"


def notify(sender: WebhookSender, to_state: str = "connected", reason: str = "connected") -> bool:
    return sender.notify(session_name="default", from_state="connecting", to_state=to_state, reason=reason, at=AT)


@pytest.mark.django_db(transaction=True)
def test_it_posts_the_state_change_signed_with_the_secret(serve) -> None:
    server = serve(ok)
    sender = WebhookSender(url=server.url + "/hook", secret=SECRET, backoff=0)

    assert notify(sender) is True
    assert sender.close(timeout=10) is True

    [request] = server.requests
    assert request.method == "POST" and request.path == "/hook"
    assert request.headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == expected
    assert json.loads(request.body) == {
        "session": "default",
        "from": "connecting",
        "to": "connected",
        "reason": "connected",
        "at": "2026-11-28T03:00:05+00:00",
    }
    delivery = WebhookDelivery.objects.get()
    assert (delivery.ok, delivery.attempts, delivery.status_code, delivery.error) == (True, 1, 200, "")
    assert delivery.event["to"] == "connected"
    assert sender.counters.as_dict() == {"queued": 1, "delivered": 1, "failed": 0, "dropped": 0}


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_server_error_until_it_succeeds(serve) -> None:
    server = serve(lambda n: (500, b"oops") if n < 3 else (200, b"{}"))
    sender = WebhookSender(url=server.url, secret=SECRET, backoff=0.01)

    notify(sender, to_state="reconnecting", reason="keepalive_timeout")
    assert sender.close(timeout=10) is True

    assert len(server.requests) == 3
    assert len({r.body for r in server.requests}) == 1, "every retry sends the same signed body"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.ok, delivery.attempts, delivery.status_code) == (True, 3, 200)


@pytest.mark.django_db(transaction=True)
def test_it_gives_up_after_three_retries_and_records_the_failure(serve, caplog) -> None:
    server = serve(lambda n: (503, b"down"))
    sender = WebhookSender(url=server.url, secret=SECRET, backoff=0)

    notify(sender)
    assert sender.close(timeout=10) is True

    assert len(server.requests) == 4, "one attempt and three retries"
    delivery = WebhookDelivery.objects.get()
    assert (delivery.ok, delivery.attempts, delivery.status_code, delivery.error) == (False, 4, 503, "HTTP 503")
    assert sender.counters.failed == 1
    assert any(r.getMessage() == "webhook failed" and r.levelname == "WARNING" for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_it_does_not_retry_a_client_error(serve) -> None:
    server = serve(lambda n: (404, b"no such hook"))
    sender = WebhookSender(url=server.url, secret=SECRET, backoff=0)

    notify(sender)
    sender.close(timeout=10)

    assert len(server.requests) == 1
    assert WebhookDelivery.objects.get().error == "HTTP 404"


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_refused_connection_and_records_the_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = WebhookSender(url=f"http://127.0.0.1:{port}/", secret=SECRET, retries=1, backoff=0)

    notify(sender)
    sender.close(timeout=10)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.ok, delivery.attempts, delivery.status_code) == (False, 2, None)
    assert delivery.error.startswith("ConnectError")


@pytest.mark.django_db(transaction=True)
def test_a_server_that_never_answers_times_out_without_losing_the_record(serve) -> None:
    hold = threading.Event()
    server = serve(ok, hold=hold)
    sender = WebhookSender(url=server.url, secret=SECRET, timeout=0.2, retries=1, backoff=0)

    notify(sender)
    assert sender.close(timeout=10) is True

    assert len(server.requests) == 2
    delivery = WebhookDelivery.objects.get()
    assert delivery.ok is False and "Timeout" in delivery.error


@pytest.mark.django_db(transaction=True)
def test_a_server_that_never_answers_does_not_slow_the_caller(serve, caplog) -> None:
    hold = threading.Event()
    server = serve(ok, hold=hold)
    sender = WebhookSender(url=server.url, secret=SECRET, timeout=30, retries=0, max_queue=3)

    assert notify(sender, reason="first") is True
    assert server.received.wait(10), "the worker is now stuck in a request the server does not answer"

    results = [notify(sender, reason=f"later-{i}") for i in range(50)]

    assert not hold.is_set(), "every notify returned while the server still held the first request"
    assert results[:3] == [True, True, True]
    assert results[3:] == [False] * 47, "a full queue drops events instead of blocking the bot"
    assert sender.counters.dropped == 47
    drops_logged = [r for r in caplog.records if r.getMessage() == "webhook queue full, events dropped"]
    assert len(drops_logged) == 1, "a flood of drops is one log line, not one per event"
    hold.set()
    assert sender.close(timeout=10) is True
    assert WebhookDelivery.objects.filter(ok=True).count() == 4


@pytest.mark.django_db(transaction=True)
def test_close_gives_up_after_its_timeout_when_the_server_hangs(serve) -> None:
    hold = threading.Event()
    server = serve(ok, hold=hold)
    sender = WebhookSender(url=server.url, secret=SECRET, timeout=30, retries=0)

    notify(sender)
    assert server.received.wait(10)
    assert sender.close(timeout=0.05) is False
    assert notify(sender) is False, "a closed sender takes no new events"
    hold.set()
    sender._thread.join(10)  # let the abandoned request finish before the tables are flushed


def test_without_a_url_the_sender_is_off_and_notify_does_nothing() -> None:
    sender = WebhookSender(url="", secret="")

    assert sender.enabled is False
    assert notify(sender) is False
    assert sender.close(timeout=1) is True


def test_webhook_verify_accepts_the_signature_and_rejects_a_tampered_body() -> None:
    from bot.webhooks import WebhookEvent

    body = webhook_body(WebhookEvent("default", "connected", "reconnecting", "stream_error", AT))
    header = webhook_signature(body=body, secret=SECRET)

    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert webhook_verify(body=body, secret=SECRET, header=header)
    assert not webhook_verify(body=body.replace(b"reconnecting", b"connected"), secret=SECRET, header=header)
    assert not webhook_verify(body=body, secret="other", header=header)
    assert not webhook_verify(body=body, secret=SECRET, header="")


@pytest.mark.django_db(transaction=True)
def test_without_a_secret_it_sends_no_signature_header(serve) -> None:
    server = serve(ok)
    sender = WebhookSender(url=server.url, secret="", backoff=0)

    notify(sender)
    sender.close(timeout=10)

    assert SIGNATURE_HEADER not in server.requests[0].headers


@pytest.mark.django_db(transaction=True)
def test_a_delivery_at_info_logs_no_part_of_the_url_receivers_put_tokens_in(serve, caplog) -> None:
    server = serve(ok)
    token_url = server.url + "/hooks/T0KEN-in-the-path-1234?key=query-token-5678"
    sender = WebhookSender(url=token_url, secret=SECRET, backoff=0)

    with caplog.at_level(logging.INFO):
        assert notify(sender) is True
        assert sender.close(timeout=10) is True

    assert server.requests[0].path == "/hooks/T0KEN-in-the-path-1234?key=query-token-5678"
    logged = "\n".join(f"{r.name} {r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "T0KEN-in-the-path" not in logged and "query-token" not in logged, logged
