"""The newest k backups damaged (bytes flipped, truncated, wrong key): the restore falls back to the
newest valid one; with none valid it fails with a clear message and leaves the live store untouched.

Six backups of a store that changes between them (so each holds a distinct snapshot); for every k
from 1 to 5 the newest k are damaged, the store is wiped, and the restore chain must bring back
the exact content of backup number k+1 and mark the damaged ones ``corrupt`` with their reason.
"""

from __future__ import annotations

import hashlib
import random
import shutil

import pytest
from django.core.management import CommandError, call_command
from psycopg import sql

from sessions_store import crypto
from sessions_store.models import SessionBackup
from sessions_store.services import backup_create, session_restore_chain
from sessions_store.snapshot import archive_from_store
from sessions_store.store import SqliteStore, pg_connect, store_for
from tests.sessions_store.factories import DEFAULT_JID, fill_store, make_paired_store

pytestmark = pytest.mark.django_db

BACKUPS = 6
FOREIGN_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of bytes 0..31: not this run's key


def _flip(stored: bytes, rng: random.Random) -> bytes:
    data = bytearray(stored)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def _truncate(stored: bytes, rng: random.Random) -> bytes:
    return stored[: rng.randrange(0, len(stored))]


def _wrong_key(stored: bytes, rng: random.Random, settings) -> bytes:
    raw = crypto.unpack(stored)
    binding = crypto.stored_binding(stored)
    previous = settings.SESSION_ENCRYPTION_KEY
    settings.SESSION_ENCRYPTION_KEY = FOREIGN_KEY
    try:
        return crypto.pack(raw, session_name=binding.session_name, archive_id=binding.archive_id).stored
    finally:
        settings.SESSION_ENCRYPTION_KEY = previous


# damage -> (how, whether the row's checksum is updated to match the damaged bytes, words of the reason)
DAMAGES = {
    "flipped": (_flip, False, "checksum does not match"),
    "flipped_resealed": (_flip, True, ""),  # a flipped header byte may read as a bad header or another key
    "truncated": (_truncate, False, "checksum does not match"),
    "truncated_resealed": (_truncate, True, ""),
    "wrong_key": (_wrong_key, True, "encrypted with key id"),
}


def _damage(backup: SessionBackup, kind: str, rng: random.Random, settings) -> None:
    how, reseal, _ = DAMAGES[kind]
    stored = bytes(SessionBackup.objects.get(pk=backup.pk).archive)
    bad = how(stored, rng, settings) if how is _wrong_key else how(stored, rng)
    assert bad != stored
    fields = {"archive": bad}
    if reseal:
        fields["sha256"] = hashlib.sha256(bad).hexdigest()
    SessionBackup.objects.filter(pk=backup.pk).update(**fields)


def _wipe(store) -> None:
    if isinstance(store, SqliteStore):
        shutil.rmtree(store.directory, ignore_errors=True)
    else:
        store.wipe()


def _content(store) -> dict[str, list[str]]:
    """Every table's rows (a table's row order is not part of a store: PostgreSQL may change it)."""
    return {t.name: sorted(map(repr, t.rows)) for t in archive_from_store(store).tables}


SNAPSHOTS: dict[int, dict[str, list[str]]] = {}  # backup id -> the store's rows when it was taken


def _backups(session: str) -> list[SessionBackup]:
    """BACKUPS backups, newest first, each of a different snapshot of the store."""
    store = make_paired_store(session)
    made, first = [], 0
    for _ in range(BACKUPS):
        first = fill_store(store, megabytes=0.001, first=first)
        made.append(backup_create(session_name=session, reason="manual"))
        SNAPSHOTS[made[-1].pk] = _content(store)
    assert all(b.state == "verified" for b in made)
    assert len({b.content_sha256 for b in made}) == BACKUPS
    return made[::-1]


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_the_newest_k_damaged_backups_fall_back_to_the_newest_valid_one(kind, settings):
    rng = random.Random(f"fallback-{kind}")
    session = f"fb-{kind.replace('_', '-')}"
    newest_first = _backups(session)
    store = store_for(session)
    for k in range(1, BACKUPS):
        _damage(newest_first[k - 1], kind, rng, settings)
        _wipe(store)
        outcome = session_restore_chain(session_name=session)
        expected = newest_first[k]
        assert (outcome.source, outcome.backup_id, outcome.needs_pairing) == ("backup", expected.pk, False)
        assert outcome.device_jid == DEFAULT_JID
        assert _content(store) == SNAPSHOTS[expected.pk], f"k={k}: not the snapshot of backup #{expected.pk}"
        damaged = SessionBackup.objects.get(pk=newest_first[k - 1].pk)
        assert damaged.state == "corrupt" and damaged.state_reason
        assert DAMAGES[kind][2] in damaged.state_reason
        assert len(outcome.failures) == 1 and f"#{damaged.pk}" in outcome.failures[0]
    print(f"\nFIGURE restore_fallback damage={kind} fallbacks={BACKUPS - 1} correct={BACKUPS - 1}")


def _live_state(store) -> object:
    """Everything that makes up the live store as it sits (files, or the schema's rows)."""
    if isinstance(store, SqliteStore):
        if not store.directory.exists():
            return None
        return {p.name: p.read_bytes() for p in sorted(store.directory.iterdir())}
    with pg_connect() as conn:
        schemas = sorted(
            r[0]
            for r in conn.execute(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s", [f"{store.schema}%"]
            )
        )
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1", [store.schema]
            )
        ]
        rows = {
            t: sorted(
                map(repr, conn.execute(sql.SQL("SELECT * FROM {}.{}").format(*map(sql.Identifier, (store.schema, t)))))
            )
            for t in tables
        }
    return schemas, rows


def _rot(store) -> None:
    """A corrupt live store: garbage in the SQLite file, or a table gone from the schema."""
    if isinstance(store, SqliteStore):
        store.path.write_bytes(b"not a database " * 500)
    else:
        with pg_connect() as conn:
            conn.execute(sql.SQL("DROP TABLE {}.whatsmeow_lid_map").format(sql.Identifier(store.schema)))
    assert store.health().status == "corrupt"


@pytest.mark.parametrize("live", ["missing", "corrupt"])
def test_with_no_valid_backup_the_restore_fails_clearly_and_leaves_the_live_store_untouched(live, settings):
    rng = random.Random(f"none-valid-{live}")
    session = f"none-{live}"
    newest_first = _backups(session)
    kinds = sorted(DAMAGES)
    for n, backup in enumerate(newest_first):
        _damage(backup, kinds[n % len(kinds)], rng, settings)
    store = store_for(session)
    _wipe(store) if live == "missing" else _rot(store)
    before = _live_state(store)
    with pytest.raises(CommandError) as raised:
        call_command("restore_session", session=session)
    message = str(raised.value)
    assert message.startswith(f"{session}: nothing restored, the session needs pairing")
    assert all(f"backup #{b.pk}:" in message for b in newest_first)
    assert _live_state(store) == before
    assert store.health().status == ("missing" if live == "missing" else "corrupt")
    assert set(SessionBackup.objects.filter(session__name=session).values_list("state", flat=True)) == {"corrupt"}
    print(f"\nFIGURE restore_none_valid live={live} damaged={len(newest_first)} live_store_untouched=1")


def test_forcing_a_damaged_backup_over_a_healthy_store_changes_nothing_in_it(settings):
    rng = random.Random("force-damaged")
    newest_first = _backups("forced")
    store = store_for("forced")
    _damage(newest_first[0], "flipped", rng, settings)
    before = _content(store)
    with pytest.raises(CommandError):
        call_command("restore_session", session="forced", backup_id=newest_first[0].pk, force=True)
    assert store.health().healthy and _content(store) == before
    pre = SessionBackup.objects.filter(session__name="forced", reason="pre_restore").get()
    assert pre.state == "verified" and pre.content_sha256 == newest_first[0].content_sha256
    print("\nFIGURE restore_forced_damaged healthy_store_unchanged=1 pre_restore_verified=1")


def test_a_damaged_row_is_never_chosen_again_once_marked_corrupt(settings):
    rng = random.Random("marked")
    newest_first = _backups("marked")
    store = store_for("marked")
    _damage(newest_first[0], "truncated", rng, settings)
    for _ in range(3):
        _wipe(store)
        outcome = session_restore_chain(session_name="marked")
        assert outcome.backup_id == newest_first[1].pk
    # Only the first restore met the damaged row; later ones skip it without a failure.
    assert outcome.failures == []
    print("\nFIGURE restore_marked_corrupt restores=3 damaged_row_tried=1")
