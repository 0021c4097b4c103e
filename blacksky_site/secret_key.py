"""The real SECRET_KEY, demanded by the processes that sign and encrypt: gunicorn (wsgi.py) and runbot.

Everything else may import the settings without one: Heroku's Python buildpack runs
``collectstatic`` before any config var exists, and a build signs and encrypts nothing. Settings
leave the key empty then, and Django refuses any use of an empty key.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

MISSING = (
    "SECRET_KEY is not set: give it a long random value (on Heroku `heroku config:set "
    "SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')`, locally `make run` "
    "writes one into .env)."
)


def secret_key_require() -> None:
    """Raise ``ImproperlyConfigured`` with one sentence naming SECRET_KEY when it is empty."""
    from django.conf import settings

    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django's own refusal of an empty key
        key = ""
    if not key:
        raise ImproperlyConfigured(MISSING)
