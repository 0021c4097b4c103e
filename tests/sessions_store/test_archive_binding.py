"""Every archive is bound to its session: a backup row or an env var holding another session's
archive is refused by name, and the restore chain falls back without touching the live store.

Runs on the test database's backend (SQLite by default, PostgreSQL with a postgres DATABASE_URL).
"""

from __future__ import annotations

import base64
import io
import logging
import os
import sys
import zlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import CommandError, call_command

from sessions_store import crypto
from sessions_store.envvars import PREFIX, env_export
from sessions_store.models import SessionBackup
from sessions_store.services import backup_create, session_restore_chain
from sessions_store.snapshot import archive_encode, archive_from_store
from sessions_store.store import store_for

from .factories import make_paired_store

pytestmark = pytest.mark.django_db

JID_A = "15550000001:1@s.whatsapp.net"
JID_B = "15550000002:1@s.whatsapp.net"
ARCHIVE_FIELDS = ("archive", "sha256", "row_counts", "store_generation", "device_jid", "key_id", "raw_size")


def _two_sessions() -> tuple[SessionBackup, SessionBackup]:
    make_paired_store("alpha", jid=JID_A, seed=1)
    make_paired_store("bravo", jid=JID_B, seed=2)
    return backup_create(session_name="alpha", reason="manual"), backup_create(session_name="bravo", reason="manual")


def _copy_archive(source: SessionBackup, target: SessionBackup) -> None:
    """What a bad database restore or a hand edit does: the row keeps its session, the bytes move."""
    row = SessionBackup.objects.get(pk=source.pk)
    SessionBackup.objects.filter(pk=target.pk).update(**{f: getattr(row, f) for f in ARCHIVE_FIELDS})


def _device(session_name: str) -> str:
    return store_for(session_name).health().device_jid


def _v1_stored(raw: bytes) -> bytes:
    """Bytes as the format-1 packer (before binding, zlib level 6) wrote them."""
    key_id, key = crypto.keyring()[0]
    header = crypto.MAGIC + key_id.encode() + os.urandom(12)
    return header + AESGCM(key).encrypt(header[-12:], zlib.compress(raw, 6), header)


# --------------------------------------------------------------------------- backups


def test_a_backup_row_holding_another_sessions_archive_is_refused_by_name_and_the_chain_falls_back():
    _, own = _two_sessions()
    newest = backup_create(session_name="bravo", reason="manual")
    alpha = SessionBackup.objects.get(session__name="alpha")
    _copy_archive(alpha, newest)
    store_for("bravo").wipe()

    outcome = session_restore_chain(session_name="bravo")

    assert outcome.source == "backup" and outcome.backup_id == own.pk
    assert _device("bravo") == JID_B  # never alpha's device
    newest.refresh_from_db()
    assert newest.state == "corrupt"
    assert "archive of session 'alpha', not of 'bravo'" in newest.state_reason
    assert _device("alpha") == JID_A


def test_archives_swapped_between_two_sessions_restore_neither_device():
    alpha, bravo = _two_sessions()
    a, b = SessionBackup.objects.get(pk=alpha.pk), SessionBackup.objects.get(pk=bravo.pk)
    SessionBackup.objects.filter(pk=a.pk).update(**{f: getattr(b, f) for f in ARCHIVE_FIELDS})
    SessionBackup.objects.filter(pk=b.pk).update(**{f: getattr(a, f) for f in ARCHIVE_FIELDS})
    store_for("alpha").wipe()
    store_for("bravo").wipe()

    for name, other in (("alpha", "bravo"), ("bravo", "alpha")):
        outcome = session_restore_chain(session_name=name)
        assert outcome.source == "none" and outcome.needs_pairing
        assert f"archive of session {other!r}, not of {name!r}" in outcome.detail
        assert store_for(name).health().status == "missing"


def test_a_forced_restore_of_a_foreign_archive_leaves_the_healthy_live_store_as_it_was():
    alpha, bravo = _two_sessions()
    _copy_archive(alpha, bravo)
    before = {t.name: sorted(t.rows, key=repr) for t in archive_from_store(store_for("bravo")).tables}

    outcome = session_restore_chain(session_name="bravo", force=True, backup_id=bravo.pk)

    assert outcome.source == "none" and "archive of session 'alpha'" in outcome.detail
    after = {t.name: sorted(t.rows, key=repr) for t in archive_from_store(store_for("bravo")).tables}
    assert after == before and _device("bravo") == JID_B


def test_two_archives_of_one_session_swapped_between_rows_are_refused_by_archive_id():
    make_paired_store("alpha", jid=JID_A)
    first = backup_create(session_name="alpha", reason="manual")
    second = backup_create(session_name="alpha", reason="manual")
    a, b = SessionBackup.objects.get(pk=first.pk), SessionBackup.objects.get(pk=second.pk)
    SessionBackup.objects.filter(pk=a.pk).update(archive=b.archive, sha256=b.sha256)
    SessionBackup.objects.filter(pk=b.pk).update(archive=a.archive, sha256=a.sha256)
    store_for("alpha").wipe()

    outcome = session_restore_chain(session_name="alpha")

    assert outcome.source == "none"
    assert f"not archive {a.archive_id} as expected" in outcome.detail
    assert f"not archive {b.archive_id} as expected" in outcome.detail


@pytest.mark.parametrize("edit", ["owner", "archive_id", "downgrade", "relabel_zlib"])
def test_a_header_rewritten_to_pass_as_this_sessions_fails_to_decrypt(edit):
    alpha, bravo = _two_sessions()
    stored = bytearray(SessionBackup.objects.get(pk=alpha.pk).archive)
    binding = crypto.stored_binding(bytes(stored))
    assert binding == crypto.Binding("alpha", str(alpha.archive_id))
    if edit == "owner":  # the clear name says "bravo" now (same length)
        at = bytes(stored).index(b"alpha")
        stored[at : at + 5] = b"bravo"
    elif edit == "archive_id":  # the row's own id written into the header
        bravo_row = SessionBackup.objects.get(pk=bravo.pk)
        stored[crypto.HEADER_SIZE : crypto.HEADER_SIZE + 16] = bravo_row.archive_id.bytes
    elif edit == "downgrade":  # relabelled as the unbound format 1
        stored[: len(crypto.MAGIC)] = crypto.MAGIC
    else:  # the zstd format relabelled as the zlib one of the same header (format 2)
        assert bytes(stored).startswith(crypto.MAGIC_ZSTD)
        stored[: len(crypto.MAGIC)] = crypto.MAGIC_BOUND
    _copy_archive(alpha, bravo)
    SessionBackup.objects.filter(pk=bravo.pk).update(archive=bytes(stored), sha256=crypto.sha256_hex(bytes(stored)))
    store_for("bravo").wipe()

    outcome = session_restore_chain(session_name="bravo")

    assert outcome.source == "none" and store_for("bravo").health().status == "missing"
    assert "tampered" in outcome.detail


def test_an_unbound_backup_from_before_the_upgrade_still_restores_with_a_warning(caplog):
    make_paired_store("legacy", jid=JID_A)
    backup = backup_create(session_name="legacy", reason="manual")
    raw = crypto.unpack(bytes(SessionBackup.objects.get(pk=backup.pk).archive))
    old = _v1_stored(raw)
    SessionBackup.objects.filter(pk=backup.pk).update(archive=old, sha256=crypto.sha256_hex(old), archive_id=None)
    store_for("legacy").wipe()

    with caplog.at_level(logging.WARNING, logger="sessions_store.services"):
        outcome = session_restore_chain(session_name="legacy")

    assert outcome.source == "backup" and _device("legacy") == JID_A
    assert [r.backup_id for r in caplog.records if r.getMessage() == "backup accepted unbound"] == [backup.pk]


def test_unbound_bytes_in_a_row_made_after_the_upgrade_are_refused():
    make_paired_store("legacy", jid=JID_A)
    backup = backup_create(session_name="legacy", reason="manual")
    old = _v1_stored(crypto.unpack(bytes(SessionBackup.objects.get(pk=backup.pk).archive)))
    SessionBackup.objects.filter(pk=backup.pk).update(archive=old, sha256=crypto.sha256_hex(old))
    store_for("legacy").wipe()

    outcome = session_restore_chain(session_name="legacy")

    assert outcome.source == "none" and "unbound archive of format 1" in outcome.detail


# --------------------------------------------------------------------------- env vars


def _export(session: str) -> str:
    out = io.StringIO()
    call_command("export_session", "--session", session, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _import(monkeypatch, text: str, *args: str) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    out = io.StringIO()
    call_command("import_session", "--stdin", *args, stdout=out)
    return out.getvalue()


def test_importing_another_sessions_export_is_refused_naming_both_and_accepted_with_as(monkeypatch):
    make_paired_store("alpha", jid=JID_A)
    exported = _export("alpha")
    store_for("bravo").wipe()

    with pytest.raises(CommandError) as refused:
        _import(monkeypatch, exported, "--session", "bravo")
    assert str(refused.value) == (
        "WA_SESSION_DATA was exported from session 'alpha', not 'bravo': it is not imported into 'bravo' "
        "(to do so on purpose, run import_session --as bravo)."
    )
    assert store_for("bravo").health().status == "missing"

    out = _import(monkeypatch, exported, "--as", "bravo")
    assert "exported from session 'alpha'" in out and _device("bravo") == JID_A


def test_import_into_the_session_it_came_from_needs_no_flag(monkeypatch):
    make_paired_store("alpha", jid=JID_A)
    exported = _export("alpha")
    store_for("alpha").wipe()
    assert "imported from env_session_data" in _import(monkeypatch, exported, "--session", "alpha")
    assert _device("alpha") == JID_A


def test_credentials_of_another_session_are_refused_too(monkeypatch):
    make_paired_store("alpha", jid=JID_A)
    lines = [line for line in _export("alpha").splitlines() if not line.startswith("WA_SESSION_DATA=")]
    with pytest.raises(CommandError, match="WA_CREDENTIALS was exported from session 'alpha', not 'bravo'"):
        _import(monkeypatch, "\n".join(lines), "--session", "bravo")


def test_at_boot_a_foreign_session_var_is_refused_in_one_line_and_the_own_credentials_are_used(settings, caplog):
    make_paired_store("alpha", jid=JID_A)
    make_paired_store("bravo", jid=JID_B)
    settings.WA_SESSION_DATA = env_export(archive=archive_from_store(store_for("alpha")), session_name="alpha").values[
        "WA_SESSION_DATA"
    ]
    settings.WA_CREDENTIALS = env_export(
        archive=archive_from_store(store_for("bravo")), session_name="bravo", credentials_only=True
    ).values["WA_CREDENTIALS"]
    store_for("bravo").wipe()

    with caplog.at_level(logging.WARNING, logger="sessions_store.services"):
        outcome = session_restore_chain(session_name="bravo")

    assert outcome.source == "env_credentials" and _device("bravo") == JID_B
    refusals = [r for r in caplog.records if r.getMessage() == "env restore failed"]
    assert len(refusals) == 1 and refusals[0].source == "env_session_data"
    assert "exported from session 'alpha', not 'bravo'" in refusals[0].reason


def test_at_boot_only_foreign_vars_mean_pairing_not_a_crash(settings):
    make_paired_store("alpha", jid=JID_A)
    export = env_export(archive=archive_from_store(store_for("alpha")), session_name="alpha")
    settings.WA_SESSION_DATA = export.values["WA_SESSION_DATA"]
    settings.WA_CREDENTIALS = export.values["WA_CREDENTIALS"]
    settings.WA_AUTH_STATE = export.values["WA_AUTH_STATE"]
    store_for("bravo").wipe()  # a PostgreSQL schema outlives the test that made it

    outcome = session_restore_chain(session_name="bravo")

    assert outcome.source == "none" and outcome.needs_pairing
    assert len(outcome.failures) == 2 and all("exported from session 'alpha'" in f for f in outcome.failures)
    assert store_for("bravo").health().status == "missing"


def test_an_unbound_env_value_from_before_the_upgrade_still_imports_with_a_warning(settings, caplog):
    make_paired_store("alpha", jid=JID_A)
    stored = _v1_stored(archive_encode(archive_from_store(store_for("alpha"))))
    data = base64.urlsafe_b64encode(stored).rstrip(b"=").decode()
    settings.WA_SESSION_DATA = f"{PREFIX}.s.{crypto.sha256_hex(stored)[:16]}.{data}"
    store_for("bravo").wipe()

    with caplog.at_level(logging.WARNING, logger="sessions_store.services"):
        outcome = session_restore_chain(session_name="bravo")

    assert outcome.source == "env_session_data" and _device("bravo") == JID_A
    assert any(r.getMessage() == "env value accepted unbound" for r in caplog.records)
