"""Signed connection webhooks, sent from a background thread so the bot never waits for them.

Every connection state change becomes one POST of JSON ``{session, from, to, reason, at}`` to
``CONNECTION_WEBHOOK_URL`` with ``X-Blacksky-Signature: sha256=<hex HMAC-SHA256 of the exact body>``
keyed with ``CONNECTION_WEBHOOK_SECRET``. The caller (the supervisor's state machine) only puts the
event on a bounded queue: :meth:`WebhookSender.notify` never blocks, and when the queue is full the
event is dropped and counted rather than slowing the bot. The worker thread POSTs with a short
timeout, retries network errors, 5xx and 429 with exponential backoff, and records each delivery as a
:class:`bot.models.WebhookDelivery` row (``/stats`` counts the failures).

Receivers verify a delivery with :func:`webhook_verify` (or the same three lines of HMAC).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from django.conf import settings
from django.db import close_old_connections, connection

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Blacksky-Signature"
USER_AGENT = "BLACKSKY-MD-webhook/1"
_RETRY_STATUSES = frozenset({408, 425, 429})
DROP_LOG_INTERVAL = 60.0  # seconds between "queue full" log lines during a flood


@dataclass(frozen=True)
class WebhookEvent:
    """One connection state change, as queued for delivery."""

    session_name: str
    from_state: str
    to_state: str
    reason: str
    at: datetime

    def payload(self) -> dict[str, str]:
        return {
            "session": self.session_name,
            "from": self.from_state,
            "to": self.to_state,
            "reason": self.reason,
            "at": self.at.isoformat(),
        }


@dataclass
class DeliveryOutcome:
    """How one delivery ended, after all its attempts."""

    ok: bool
    attempts: int
    status_code: int | None = None
    error: str = ""


@dataclass
class WebhookCounters:
    """In-process counters for the heartbeat and logs (the rows are the durable record)."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def bump(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {"queued": self.queued, "delivered": self.delivered, "failed": self.failed, "dropped": self.dropped}


def webhook_body(event: WebhookEvent) -> bytes:
    """The exact bytes that are signed and sent (compact JSON, stable key order)."""
    return json.dumps(event.payload(), separators=(",", ":"), sort_keys=True).encode()


def webhook_signature(*, body: bytes, secret: str) -> str:
    """``sha256=<hex>`` HMAC of ``body``; the value of the ``X-Blacksky-Signature`` header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_verify(*, body: bytes, secret: str, header: str) -> bool:
    """True when ``header`` is the signature of ``body`` with ``secret`` (constant-time compare)."""
    return hmac.compare_digest(webhook_signature(body=body, secret=secret), header or "")


def _record_delivery(event: WebhookEvent, outcome: DeliveryOutcome) -> None:
    from bot.models import WebhookDelivery

    WebhookDelivery.objects.create(
        session_name=event.session_name,
        at=event.at,
        event=event.payload(),
        attempts=outcome.attempts,
        status_code=outcome.status_code,
        ok=outcome.ok,
        error=outcome.error[:255],
    )


_STOP = object()


class WebhookSender:
    """Background sender of connection webhooks: ``notify`` from anywhere, ``close`` at shutdown.

    ``retries`` counts the attempts after the first one; the n-th retry waits ``backoff * 2**(n-1)``
    seconds. With no URL configured the sender is disabled and ``notify`` does nothing.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        secret: str | None = None,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_queue: int = 100,
        record: Callable[[WebhookEvent, DeliveryOutcome], None] | None = _record_delivery,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = settings.CONNECTION_WEBHOOK_URL if url is None else url
        self.secret = settings.CONNECTION_WEBHOOK_SECRET if secret is None else secret
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.record = record
        self.counters = WebhookCounters()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._abandon = threading.Event()
        self._closed = False
        self._drop_logged_at = -DROP_LOG_INTERVAL
        self._transport = transport
        self._thread: threading.Thread | None = None
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def notify(self, *, session_name: str, from_state: str, to_state: str, reason: str, at: datetime) -> bool:
        """Queue one state change; returns at once. False when disabled, closed or the queue is full."""
        if not self.enabled or self._closed:
            return False
        event = WebhookEvent(session_name, str(from_state), str(to_state), reason or "", at)
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.counters.bump("dropped")
            now = time.monotonic()
            if now - self._drop_logged_at >= DROP_LOG_INTERVAL:  # one line per interval, not one per event
                self._drop_logged_at = now
                logger.warning(
                    "webhook queue full, events dropped",
                    extra={"session": session_name, "to": to_state, "dropped": self.counters.dropped},
                )
            return False
        self.counters.bump("queued")
        return True

    def close(self, timeout: float = 5.0) -> bool:
        """Deliver what is queued within ``timeout`` seconds, then stop. True when all was delivered."""
        if self._thread is None:
            return True
        self._closed = True
        deadline = time.monotonic() + timeout
        try:
            self._queue.put(_STOP, timeout=max(timeout, 0.0))
        except queue.Full:
            pass
        self._thread.join(max(deadline - time.monotonic(), 0.0))
        if self._thread.is_alive():
            self._abandon.set()  # stop retrying; the daemon thread ends after its current request
            logger.warning("webhook sender closed with deliveries pending", extra={"pending": self._queue.qsize()})
            return False
        return True

    # --- worker thread -------------------------------------------------------------------------

    def _run(self) -> None:
        with httpx.Client(
            timeout=self.timeout, transport=self._transport, headers={"User-Agent": USER_AGENT}
        ) as client:
            while True:
                item = self._queue.get()
                if item is _STOP or self._abandon.is_set():
                    break
                assert isinstance(item, WebhookEvent)
                try:
                    self._deliver(client, item)
                except Exception:  # the worker must outlive any one delivery
                    logger.exception("webhook delivery crashed", extra={"session": item.session_name})
        connection.close()

    def _deliver(self, client: httpx.Client, event: WebhookEvent) -> DeliveryOutcome:
        body = webhook_body(event)
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = webhook_signature(body=body, secret=self.secret)
        outcome = DeliveryOutcome(ok=False, attempts=0)
        for attempt in range(1, self.retries + 2):
            outcome.attempts = attempt
            retryable = True
            try:
                response = client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                outcome.status_code = None
                outcome.error = f"{type(exc).__name__}: {exc}"[:255]
            else:
                outcome.status_code = response.status_code
                if response.is_success:
                    outcome.ok, outcome.error = True, ""
                    break
                outcome.error = f"HTTP {response.status_code}"
                retryable = response.status_code >= 500 or response.status_code in _RETRY_STATUSES
            if not retryable or attempt > self.retries or self._abandon.is_set():
                break
            if self._abandon.wait(self.backoff * 2 ** (attempt - 1)):
                break
        self._finish(event, outcome)
        return outcome

    def _finish(self, event: WebhookEvent, outcome: DeliveryOutcome) -> None:
        self.counters.bump("delivered" if outcome.ok else "failed")
        fields = {
            "session": event.session_name,
            "to": event.to_state,
            "attempts": outcome.attempts,
            "status": outcome.status_code,
        }
        if outcome.ok:
            logger.info("webhook delivered", extra=fields)
        else:
            logger.warning("webhook failed", extra={**fields, "error": outcome.error, "failed": self.counters.failed})
        if self.record is None:
            return
        try:
            close_old_connections()
            self.record(event, outcome)
        except Exception:
            logger.exception("webhook delivery not recorded", extra={"session": event.session_name})
