"""The session as config vars: export -> import round trip, the 32 KB limit, clear refusals."""

from __future__ import annotations

import io
import shlex
import sys

import pytest
from django.core.management import CommandError, call_command

from sessions_store.envvars import EnvValueError, env_export, env_value_decode, parse_env_lines
from sessions_store.models import SessionBackup
from sessions_store.snapshot import archive_from_store
from sessions_store.store import store_for

from .factories import fill_store, make_paired_store

pytestmark = pytest.mark.django_db

JID = "15551234567:12@s.whatsapp.net"


def _export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_session", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _import(monkeypatch, text: str, *args: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    out = io.StringIO()
    call_command("import_session", "--stdin", *args, stdout=out)
    return out.getvalue()


def _rows(store) -> dict[str, list]:
    return {t.name: t.rows for t in archive_from_store(store).tables}


def test_export_then_import_restores_the_same_store(monkeypatch):
    store = make_paired_store("default")
    before = _rows(store)
    out, err = _export("--env")
    assert [line.split("=", 1)[0] for line in out.splitlines()] == [
        "WA_SESSION_DATA",
        "WA_CREDENTIALS",
        "WA_AUTH_STATE",
    ]
    assert "# WA_SESSION_DATA:" in err and "bytes" in err
    store.wipe()
    assert "imported from env_session_data" in _import(monkeypatch, out)
    assert _rows(store) == before
    assert SessionBackup.objects.filter(reason="import", state="verified").count() == 1


def test_the_credentials_alone_log_in_and_leave_the_signal_sessions_to_rebuild(monkeypatch):
    store = make_paired_store("default")
    device = _rows(store)["whatsmeow_device"]
    out, _ = _export("--credentials-only")
    assert "WA_SESSION_DATA" not in out
    store.wipe()
    _import(monkeypatch, out)
    rows = _rows(store)
    assert rows["whatsmeow_device"] == device
    assert store.health().device_jid == JID
    assert rows["whatsmeow_sessions"] == [] and len(rows["whatsmeow_app_state_version"]) == 2


def test_the_heroku_line_is_one_ready_command(settings):
    settings.HEROKU_APP_NAME = "my-bot"
    make_paired_store("default")
    out, _ = _export("--heroku")
    words = shlex.split(out)
    assert words[:4] == ["heroku", "config:set", "--app", "my-bot"]
    assert [w.split("=", 1)[0] for w in words[4:]] == ["WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE"]
    assert parse_env_lines(out).keys() == {"WA_SESSION_DATA", "WA_CREDENTIALS", "WA_AUTH_STATE"}


def test_a_session_over_32_kb_is_refused_with_the_postgres_advice_unless_credentials_only():
    store = make_paired_store("default")
    fill_store(store, megabytes=0.05)
    with pytest.raises(CommandError, match="over Heroku's 32 KB config-var limit: add Heroku Postgres"):
        _export("--env")
    out, err = _export("--env", "--credentials-only")
    assert out.count("\n") == 2 and "total:" in err
    export = env_export(archive=archive_from_store(store), session_name="default", credentials_only=True)
    assert export.fits and export.total < 32 * 1024


def test_the_auth_state_drops_versions_and_macs_together_when_over_budget():
    store = make_paired_store("default")
    export = env_export(archive=archive_from_store(store), session_name="default", credentials_only=True, budget=10)
    auth = env_value_decode(name="WA_AUTH_STATE", value=export.values["WA_AUTH_STATE"])
    assert [t.name for t in auth.tables] == ["whatsmeow_app_state_sync_keys"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda v: "hello", "WA_SESSION_DATA is malformed"),
        (lambda v: v[: len(v) // 2], "WA_SESSION_DATA is truncated or was altered"),
        # cut one to four characters short: every length base64 can end on, and the one it cannot
        (lambda v: v[:-1], "WA_SESSION_DATA is truncated or was altered"),
        (lambda v: v[:-2], "WA_SESSION_DATA is truncated or was altered"),
        (lambda v: v[:-3], "WA_SESSION_DATA is truncated or was altered"),
        (lambda v: v[:-4], "WA_SESSION_DATA is truncated or was altered"),
        (lambda v: v[:-8] + ("A" if v[-8] != "A" else "B") + v[-7:], "WA_SESSION_DATA is truncated or was altered"),
        (lambda v: v.replace("bsky1.s.", "bsky1.c.", 1), "WA_SESSION_DATA holds the value of WA_CREDENTIALS"),
        (lambda v: v[:-3] + "!!!", "not base64url"),
    ],
)
def test_a_damaged_value_gets_one_sentence_and_nothing_is_written(monkeypatch, damage, message):
    store = make_paired_store("default")
    out, _ = _export("--env")
    value = parse_env_lines(out)["WA_SESSION_DATA"]
    store.wipe()
    with pytest.raises(CommandError, match=message) as caught:
        _import(monkeypatch, f"WA_SESSION_DATA={damage(value)}")
    assert "\n" not in str(caught.value)
    assert store.health().status == "missing"
    assert not SessionBackup.objects.exists()


def test_a_value_with_a_recomputed_checksum_still_fails_decryption(monkeypatch):
    import base64
    import hashlib

    make_paired_store("default")
    value = parse_env_lines(_export("--env")[0])["WA_CREDENTIALS"]
    prefix, kind, _, data = value.split(".")
    stored = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    stored[-1] ^= 1
    forged = base64.urlsafe_b64encode(bytes(stored)).rstrip(b"=").decode()
    forged_value = f"{prefix}.{kind}.{hashlib.sha256(bytes(stored)).hexdigest()[:16]}.{forged}"
    with pytest.raises(EnvValueError, match="tampered"):
        env_value_decode(name="WA_CREDENTIALS", value=forged_value)


def test_a_wrongly_keyed_value_names_the_key(monkeypatch, settings):
    store = make_paired_store("default")
    out, _ = _export("--env")
    store.wipe()
    settings.SECRET_KEY = "another-secret-0123456789abcdefghijklmnopqrstuvwxyz"
    with pytest.raises(CommandError, match="cannot be decrypted with this key"):
        _import(monkeypatch, out)
    assert store.health().status == "missing"


def test_import_refuses_to_replace_a_healthy_store_without_force(monkeypatch):
    make_paired_store("default")
    out, _ = _export("--env")
    with pytest.raises(CommandError, match="--force"):
        _import(monkeypatch, out)
    assert "imported" in _import(monkeypatch, out, "--force")
    assert SessionBackup.objects.filter(reason="pre_restore").count() == 1


def test_import_reads_the_environment_by_default(monkeypatch):
    store = make_paired_store("default")
    for name, value in parse_env_lines(_export("--env", "--credentials-only")[0]).items():
        monkeypatch.setenv(name, value)
    store.wipe()
    out = io.StringIO()
    call_command("import_session", stdout=out)
    assert "env_credentials" in out.getvalue() and store_for("default").health().device_jid == JID


def test_export_of_an_unpaired_session_says_there_is_nothing():
    with pytest.raises(CommandError, match="no paired live store"):
        _export("--session", "nobody")
