"""A Host header the site does not serve: 400, and one WARNING line (no ERROR, no traceback, no request repr)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from blacksky_site.logging import KeyValueFormatter


@pytest.mark.parametrize(
    "host",
    ["evil.example", "a" * 5000, "évil.example\nSet-Cookie: x=1", "10.0.0.9:8000", "[::1"],
)
def test_a_foreign_host_gets_400_and_one_warning_line(client: Client, caplog, host: str) -> None:
    with caplog.at_level(logging.INFO):
        response = client.get("/healthz", HTTP_HOST=host)
    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert record.levelname == "WARNING" and record.exc_info is None
    line = KeyValueFormatter().format(record)
    assert "\n" not in line and "Traceback" not in line and "WSGIRequest" not in line
    assert line.count(" WARNING django.security.DisallowedHost request refused: host not allowed") == 1
    assert "path=/healthz" in line and len(line) < 400


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("evil.example", "evil.example"),
        ("a'b.example", "a'b.example"),
        ('x"y', 'x\\"y'),
        ("évil\nx", "\\xe9vil\\nx"),
        ("h" * 150, "h" * 100 + "..."),
    ],
)
def test_the_line_names_the_host_that_was_sent(client: Client, caplog, host: str, shown: str) -> None:
    with caplog.at_level(logging.INFO):
        client.get("/healthz", HTTP_HOST=host)
    [record] = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    line = KeyValueFormatter().format(record)
    assert f'host="{shown}" path=/healthz' in line or f"host={shown} path=/healthz" in line, line
