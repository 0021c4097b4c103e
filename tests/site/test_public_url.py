"""The public address (PUBLIC_URL or Heroku's dyno metadata) drives the host check, CSRF and the bot's links."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from blacksky_site import config
from blacksky_site.public_url import public_host, public_origin, public_url_from_env

ROOT = Path(__file__).resolve().parents[2]
SUFFIXED = "my-bot-1a2b3c4d5e6f.herokuapp.com"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"HEROKU_APP_NAME": "my-bot"}, "https://my-bot.herokuapp.com"),
        ({"HEROKU_APP_DEFAULT_DOMAIN_NAME": SUFFIXED}, f"https://{SUFFIXED}"),
        # the dyno metadata sets both: the default domain carries the real suffix
        ({"HEROKU_APP_NAME": "my-bot", "HEROKU_APP_DEFAULT_DOMAIN_NAME": SUFFIXED}, f"https://{SUFFIXED}"),
        ({"HEROKU_APP_DEFAULT_DOMAIN_NAME": SUFFIXED.upper() + "."}, f"https://{SUFFIXED}"),
        (
            {"PUBLIC_URL": "https://bot.example.com/", "HEROKU_APP_DEFAULT_DOMAIN_NAME": SUFFIXED},
            "https://bot.example.com",
        ),
        ({"PUBLIC_URL": "http://10.0.0.5:8000", "PORT": "9000"}, "http://10.0.0.5:8000"),
    ],
)
def test_the_public_url_is_derived_from_the_first_variable_that_is_set(environ, expected) -> None:
    assert public_url_from_env(environ) == expected


def test_host_and_origin_come_from_the_same_url() -> None:
    assert public_host("https://bot.example.com:8443") == "bot.example.com"
    assert public_origin("https://bot.example.com:8443") == "https://bot.example.com:8443"


@pytest.mark.parametrize(
    ("name", "raw", "words"),
    [
        ("PUBLIC_URL", "bot.example.com", "http:// or https://"),
        ("PUBLIC_URL", "https://bot.example.com/bot/", "no path"),
        ("HEROKU_APP_DEFAULT_DOMAIN_NAME", "https://x.herokuapp.com", "host name"),
    ],
)
def test_a_malformed_address_is_one_sentence_naming_the_variable(name, raw, words) -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        config.get(name, {name: raw})
    assert str(info.value).startswith(f"{name} is set to") and words in str(info.value)


PROBE = """
import django, json; django.setup()
from django.conf import settings
from django.test import Client
from bot.links import pairing_page_url
response = Client().get("/healthz?live=1", HTTP_HOST=%r, secure=True)
print(json.dumps({"hosts": settings.ALLOWED_HOSTS, "origins": settings.CSRF_TRUSTED_ORIGINS,
                  "pair": pairing_page_url(), "status": response.status_code}))
"""


def _probe(env: dict[str, str], host: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE % host], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_suffixed_heroku_app_answers_and_links_to_itself_without_anyone_typing_the_suffix(subprocess_env) -> None:
    # ALLOWED_HOSTS as the old docs told users to set it: the name without Heroku's random suffix.
    subprocess_env.update(
        {"DYNO": "web.1", "ALLOWED_HOSTS": "my-bot.herokuapp.com", "HEROKU_APP_DEFAULT_DOMAIN_NAME": SUFFIXED}
    )
    seen = _probe(subprocess_env, SUFFIXED)
    assert seen["status"] == 200
    assert seen["pair"] == f"https://{SUFFIXED}/pair/"
    assert SUFFIXED in seen["hosts"] and f"https://{SUFFIXED}" in seen["origins"]


def test_a_custom_domain_in_public_url_is_the_host_the_origin_and_the_link(subprocess_env) -> None:
    subprocess_env.update({"PUBLIC_URL": "https://bot.example.com", "ALLOWED_HOSTS": "localhost"})
    seen = _probe(subprocess_env, "bot.example.com")
    assert seen["status"] == 200
    assert seen["pair"] == "https://bot.example.com/pair/"
    assert seen["origins"] == ["https://bot.example.com"]


def test_on_a_dyno_without_metadata_the_link_says_where_to_look_instead_of_127_0_0_1(subprocess_env) -> None:
    subprocess_env.update({"DYNO": "worker.1", "HEROKU_APP_NAME": "", "HEROKU_APP_DEFAULT_DOMAIN_NAME": ""})
    seen = _probe(subprocess_env, "x.herokuapp.com")
    assert "127.0.0.1" not in seen["pair"] and "heroku apps:info" in seen["pair"]
