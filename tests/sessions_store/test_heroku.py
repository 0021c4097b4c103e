"""The Heroku Platform API client and the automatic config-var write after pairing."""

from __future__ import annotations

import logging
import socket

import pytest

from blacksky_site.heroku import HerokuError, heroku_config_vars_set, heroku_dyno_restart
from sessions_store.envvars import env_value_decode
from sessions_store.models import WhatsAppSession
from sessions_store.services import backup_create, session_credentials_sync, session_mark_paired

from .factories import make_paired_store
from .heroku_stand_in import HerokuStandIn

TOKEN = "heroku-token-0123456789abcdef"


@pytest.fixture
def heroku(settings):
    stand_in = HerokuStandIn()
    settings.HEROKU_API_URL = stand_in.start()
    settings.HEROKU_API_KEY = TOKEN
    settings.HEROKU_APP_NAME = "my-bot"
    yield stand_in
    stand_in.stop()


def test_config_vars_are_patched_with_api_v3_headers(heroku):
    heroku_config_vars_set(values={"A": "1", "B": None})
    [request] = heroku.requests
    assert (request.method, request.path) == ("PATCH", "/apps/my-bot/config-vars")
    assert request.headers["Accept"] == "application/vnd.heroku+json; version=3"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.body == {"A": "1", "B": None}


def test_a_rejected_token_is_one_clear_error_without_the_token(heroku):
    heroku.answers = [(401, {})]
    with pytest.raises(HerokuError, match="refused the token") as caught:
        heroku_config_vars_set(values={"A": "secret-value"})
    assert TOKEN not in str(caught.value) and "secret-value" not in str(caught.value)
    assert len(heroku.requests) == 1


def test_rate_limiting_is_retried_after_the_wait_heroku_asks_for(heroku):
    heroku.answers = [(429, {"Retry-After": "3"}), (429, {"Retry-After": "1"}), (200, {})]
    waits: list[float] = []
    heroku_config_vars_set(values={"A": "1"}, sleep=waits.append)
    assert waits == [3.0, 1.0]
    assert len(heroku.requests) == 3


def test_rate_limiting_that_never_ends_gives_up(heroku):
    heroku.answers = [(429, {"Retry-After": "0"})]
    with pytest.raises(HerokuError, match="429"):
        heroku_config_vars_set(values={"A": "1"}, sleep=lambda s: None)
    assert len(heroku.requests) == 4


def test_an_api_that_does_not_answer_times_out(settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection in the kernel, never answers
    settings.HEROKU_API_URL = f"http://127.0.0.1:{silent.getsockname()[1]}"
    settings.HEROKU_API_KEY, settings.HEROKU_APP_NAME = TOKEN, "my-bot"
    try:
        with pytest.raises(HerokuError, match="did not answer within 0.2 s"):
            heroku_config_vars_set(values={"A": "1"}, timeout=0.2)
    finally:
        silent.close()


def test_a_dyno_restart_deletes_the_dyno(heroku):
    heroku_dyno_restart(dyno="worker.1")
    heroku_dyno_restart()
    assert [(r.method, r.path) for r in heroku.requests] == [
        ("DELETE", "/apps/my-bot/dynos/worker.1"),
        ("DELETE", "/apps/my-bot/dynos"),
    ]


def test_without_key_and_app_the_client_says_what_is_missing(settings):
    with pytest.raises(HerokuError, match="HEROKU_API_KEY and HEROKU_APP_NAME"):
        heroku_config_vars_set(values={"A": "1"})


@pytest.mark.django_db
def test_pairing_writes_the_credentials_to_the_config_vars_once_and_logs_no_values(heroku, caplog):
    make_paired_store("paired")
    with caplog.at_level(logging.DEBUG):
        session_mark_paired(session_name="paired", jid="15551234567:12@s.whatsapp.net", push_name="Bot")
    [request] = heroku.requests
    assert set(request.body) == {"WA_CREDENTIALS", "WA_AUTH_STATE", "WA_SESSION_DATA"}
    assert request.body["WA_SESSION_DATA"] is None
    archive = env_value_decode(name="WA_CREDENTIALS", value=request.body["WA_CREDENTIALS"])
    assert archive.device_jid == "15551234567:12@s.whatsapp.net"
    session = WhatsAppSession.objects.get(name="paired")
    assert session.status == "paired" and session.credentials_exported_at is not None
    logged = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert request.body["WA_CREDENTIALS"][:40] not in logged and TOKEN not in logged
    # Backups never rewrite unchanged credentials (a config-var change restarts the dyno).
    backup_create(session_name="paired", reason="manual")
    assert session_credentials_sync(session_name="paired") is False
    assert len(heroku.requests) == 1


@pytest.mark.django_db
def test_changed_credentials_are_written_again_but_not_more_than_hourly(heroku):
    store = make_paired_store("changing")
    session_mark_paired(session_name="changing", jid="15551234567:12@s.whatsapp.net")
    from sessions_store.store import SqliteStore

    if isinstance(store, SqliteStore):
        import sqlite3

        conn = sqlite3.connect(store.path)
        conn.execute("UPDATE whatsmeow_device SET push_name = 'Renamed'")
        conn.commit()
        conn.close()
    else:
        from psycopg import sql

        from sessions_store.store import pg_connect

        with pg_connect() as conn:
            conn.execute(
                sql.SQL("UPDATE {}.whatsmeow_device SET push_name = 'Renamed'").format(sql.Identifier(store.schema))
            )
    assert session_credentials_sync(session_name="changing") is False  # written minutes ago
    WhatsAppSession.objects.filter(name="changing").update(credentials_exported_at=None)
    assert session_credentials_sync(session_name="changing") is True
    assert len(heroku.requests) == 2


@pytest.mark.django_db
def test_a_failing_heroku_api_never_breaks_the_pairing(heroku):
    heroku.answers = [(401, {})]
    make_paired_store("nokey")
    session = session_mark_paired(session_name="nokey", jid="15551234567:12@s.whatsapp.net")
    assert session.status == "paired" and session.credentials_exported_at is None
