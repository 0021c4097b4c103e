"""A stand-in for the Heroku Platform API on 127.0.0.1: answers from a script, records requests."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: object


@dataclass
class HerokuStandIn:
    """``answers`` is a list of (status, headers); the last one repeats."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=lambda: [(200, {})])
    requests: list[Recorded] = field(default_factory=list)

    def start(self) -> str:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                stand_in.requests.append(
                    Recorded(self.command, self.path, dict(self.headers), json.loads(raw) if raw else None)
                )
                status, headers = stand_in.answers[min(len(stand_in.requests), len(stand_in.answers)) - 1]
                payload = json.dumps({"id": "stand-in"} if status < 400 else {"id": "error", "message": "no"}).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_PATCH = do_DELETE = do_GET = _answer

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
