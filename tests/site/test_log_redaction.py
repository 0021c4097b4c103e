"""Secrets never reach a log line: not in the message, the extras, a traceback or a stack, nor a URL's password."""

from __future__ import annotations

import logging
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from blacksky_site import config
from blacksky_site.logging import KeyValueFormatter, RedactSecretsFilter

TOKEN = "supersecret-token-123"


def redacted_line(record: logging.LogRecord, secrets: list[str]) -> str:
    redact = RedactSecretsFilter()
    redact.secrets = sorted(secrets, key=len, reverse=True)
    assert redact.filter(record)
    return KeyValueFormatter().format(record)


def test_a_traceback_that_quotes_a_secret_prints_it_redacted() -> None:
    try:
        raise RuntimeError(f"login refused for token {TOKEN}")
    except RuntimeError:
        record = logging.LogRecord("bot.x", logging.ERROR, __file__, 1, "delivery failed", (), sys.exc_info())
    line = redacted_line(record, [TOKEN])
    assert "Traceback (most recent call last)" in line and "RuntimeError: login refused for token [redacted]" in line
    assert TOKEN not in line


def test_a_stack_that_quotes_a_secret_prints_it_redacted() -> None:
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "where", (), None, sinfo=f'  url = "{TOKEN}"')
    line = redacted_line(record, [TOKEN])
    assert 'url = "[redacted]"' in line and TOKEN not in line


def test_non_string_extras_are_redacted_too() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "sent", (), None)
    record.headers = {"Authorization": f"Bearer {TOKEN}"}
    record.attempts = 3
    line = redacted_line(record, [TOKEN])
    assert TOKEN not in line and "attempts=3" in line and "[redacted]" in line


@pytest.mark.parametrize(
    ("name", "url", "secret"),
    [
        ("DATABASE_URL", "postgres://app:pg-pass-9f8e7d@db.internal:5432/app", "pg-pass-9f8e7d"),
        ("DATABASE_URL", "postgres://app:p%40ss-w0rd-xyz@db.internal/app", "p@ss-w0rd-xyz"),
        ("REDIS_URL", "rediss://:redis-pw-4455aa@cache.internal:6380/0", "redis-pw-4455aa"),
        ("WA_PROXY", "socks5://me:proxy-pw-77@proxy.example:1080", "proxy-pw-77"),
        ("CONNECTION_WEBHOOK_URL", "https://hooks.example/in?token=hook-token-0011", "hook-token-0011"),
        ("MEDIA_CDN_URL", "https://cdn.example/gifs?sig=cdn-signature-22", "cdn-signature-22"),
        ("HEROKU_API_URL", "https://user:heroku-pw-333@api.example", "heroku-pw-333"),
        # a malformed port must not hide the password from the filter
        ("DATABASE_URL", "postgres://app:still-secret-1@db:notaport/app", "still-secret-1"),
    ],
)
def test_the_credentials_of_url_settings_are_redacted_from_every_line(name: str, url: str, secret: str) -> None:
    secrets = config.secret_values({name: url})
    assert secret in secrets
    record = logging.LogRecord("bot.x", logging.WARNING, __file__, 1, "cannot reach %s", (url,), None)
    line = redacted_line(record, secrets)
    assert secret not in line and secret.replace("@", "%40") not in line


@pytest.mark.parametrize(
    ("name", "url", "secret"),
    [
        ("DATABASE_URL", "mysql://root:hunter2-db-pw@db.internal:3306/app?sslkey=/k", "hunter2-db-pw"),
        ("REDIS_URL", "http://:redis-pw-4455aa@cache.internal:6380/0", "redis-pw-4455aa"),
        ("WA_PROXY", "ftp://me:proxy-pw-77@proxy.example:1080/x", "proxy-pw-77"),
        ("CONNECTION_WEBHOOK_URL", "ftp://hooks.example/T0KEN-path-value?token=hook-token-0011", "hook-token-0011"),
        ("MEDIA_CDN_URL", "cdn.example/gifs?sig=cdn-signature-22", "cdn-signature-22"),
    ],
)
def test_a_malformed_url_setting_names_the_variable_and_shows_scheme_and_host_at_most(
    name: str, url: str, secret: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        config.get(name, {name: url})
    message = str(raised.value)
    assert message.startswith(f"{name} is set to ") and "\n" not in message
    assert secret not in message and "T0KEN" not in message and "root" not in message and "me:" not in message
    assert "/app" not in message and "?" not in message


def test_url_shown_keeps_only_scheme_and_host() -> None:
    assert config.url_shown("mysql://root:pw@db.internal:3306/app") == "'mysql://db.internal' (credentials and path not shown)"
    assert config.url_shown("https://hooks.example") == "'https://hooks.example'"
    assert config.url_shown("not a url") == "a value that is not a URL"
