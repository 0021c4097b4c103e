"""Store generations: a live store older than the newest verified backup is replaced, the newest never.

"Another machine" is played on one backend: the old machine's copy is saved as an archive, the
session then runs "elsewhere" (restored from a backup, changed, backed up again), and the old copy
is put back with the generation its disk had.
"""

from __future__ import annotations

import logging

import pytest

from sessions_store.models import SessionBackup, WhatsAppSession
from sessions_store.services import (
    backup_create,
    backup_open,
    session_pairing_succeeded,
    session_restore_chain,
    store_restore_archive,
)
from sessions_store.services.generations import FORCE, KEEP, REPLACE_STALE, RESTORE, store_decision
from sessions_store.snapshot import ArchiveError, archive_from_store
from sessions_store.store import SqliteStore, pg_connect
from sessions_store.store.base import GENERATION_TABLE

from .factories import make_paired_store, store_insert

pytestmark = pytest.mark.django_db

DECISIONS = [
    # healthy, live generation, newest verified backup's generation, force -> what the chain does
    (True, 5, None, False, KEEP),  # no backup: the live store is all there is
    (True, 5, 5, False, KEEP),  # the backups are of this very run
    (True, 6, 5, False, KEEP),  # the store moved on since its last backup
    (True, 4, 5, False, REPLACE_STALE),  # a later run (elsewhere) left a backup
    (True, 0, 0, False, KEEP),  # before generations existed: nothing newer is known
    (True, 0, None, False, KEEP),
    (True, 0, 1, False, REPLACE_STALE),  # an unstamped store after a stamped backup exists: older
    (True, 9, 5, True, FORCE),
    (False, 0, 5, False, RESTORE),
    (False, 0, None, True, RESTORE),
]


@pytest.mark.parametrize(("healthy", "live", "newest", "force", "decision"), DECISIONS)
def test_store_decision(healthy, live, newest, force, decision):
    assert (
        store_decision(healthy=healthy, live_generation=live, newest_backup_generation=newest, force=force) == decision
    )


def _rows(store) -> dict[str, list]:
    return {t.name: sorted(t.rows, key=repr) for t in archive_from_store(store).tables}


def _drop_generation(store) -> None:
    """What a store written before generations existed looks like."""
    if isinstance(store, SqliteStore):
        import sqlite3

        conn = sqlite3.connect(store.path)
        conn.execute(f"DROP TABLE IF EXISTS {GENERATION_TABLE}")
        conn.commit()
        conn.close()
    else:
        with pg_connect() as conn:
            conn.execute(f'DROP TABLE IF EXISTS "{store.schema}".{GENERATION_TABLE}')


def test_each_start_takes_the_next_generation_and_backups_record_it():
    store = make_paired_store("runs")
    first = session_restore_chain(session_name="runs")
    assert (first.source, first.generation) == ("live", 1)
    assert store.generation_read() == 1
    backup = backup_create(session_name="runs", reason="manual")
    assert backup.store_generation == 1 and backup_open(backup=backup).store_generation == 1
    second = session_restore_chain(session_name="runs")
    assert (second.source, second.generation) == ("live", 2)
    assert WhatsAppSession.objects.get(name="runs").store_generation == 2


def test_a_store_that_missed_a_later_run_elsewhere_is_moved_aside_and_the_backup_restored(caplog):
    store = make_paired_store("roam")
    session_restore_chain(session_name="roam")  # machine A runs: generation 1
    backup_create(session_name="roam", reason="shutdown")
    machine_a = archive_from_store(store)
    # Machine B starts without a store: the backup is restored (generation 2), B runs and backs up.
    store.wipe()
    assert session_restore_chain(session_name="roam").generation == 2
    store_insert(store, {"whatsmeow_lid_map": [("42@lid", "42@s.whatsapp.net")]})
    newer = backup_create(session_name="roam", reason="shutdown")
    assert newer.store_generation == 2
    after_b = _rows(store)
    # Machine A comes back with its old, healthy store.
    store_restore_archive(store=store, archive=machine_a, keep_old=False, generation=1)
    assert store.health().healthy and _rows(store) != after_b
    with caplog.at_level(logging.INFO, logger="sessions_store.services"):
        outcome = session_restore_chain(session_name="roam")
    assert (outcome.source, outcome.backup_id) == ("backup", newer.pk)
    assert outcome.stale_store["live_generation"] == 1 and outcome.stale_store["backup_generation"] == 2
    assert outcome.stale_store["moved_to"] and "aside" in outcome.stale_store["moved_to"]
    assert "older than backup" in outcome.detail
    assert _rows(store) == after_b
    assert store.generation_read() == outcome.generation == 3
    [line] = [r for r in caplog.records if r.getMessage() == "stale live store replaced"]
    assert line.backup_id == newer.pk and line.live_generation == 1
    # Now the live store is the newest: the next start keeps it.
    again = session_restore_chain(session_name="roam")
    assert again.source == "live" and _rows(store) == after_b


def test_a_store_from_before_generations_is_kept_while_every_backup_is_from_before_too():
    store = make_paired_store("legacy")
    backup_create(session_name="legacy", reason="manual")
    _drop_generation(store)
    SessionBackup.objects.update(store_generation=0)
    outcome = session_restore_chain(session_name="legacy")
    assert outcome.source == "live" and store.generation_read() == outcome.generation == 1


def test_a_store_from_before_generations_gives_way_to_a_backup_of_a_stamped_store():
    store = make_paired_store("legacy2")
    session_restore_chain(session_name="legacy2")
    store_insert(store, {"whatsmeow_lid_map": [("43@lid", "43@s.whatsapp.net")]})
    stamped = backup_create(session_name="legacy2", reason="manual")
    expected = _rows(store)
    store.wipe()
    make_paired_store("legacy2")  # an old machine's store, never run by this code
    _drop_generation(store)
    assert store.generation_read() == 0
    outcome = session_restore_chain(session_name="legacy2")
    assert outcome.source == "backup" and outcome.backup_id == stamped.pk and outcome.stale_store
    assert _rows(store) == expected


def test_a_fresh_pairing_outranks_the_backups_of_the_device_before_it():
    store = make_paired_store("repaired")
    session_restore_chain(session_name="repaired")
    backup_create(session_name="repaired", reason="manual")
    store.wipe()
    make_paired_store("repaired", jid="15559990000:3@s.whatsapp.net", seed=9)  # neonize wrote a new device
    _drop_generation(store)
    session_pairing_succeeded(session_name="repaired", jid="15559990000:3@s.whatsapp.net", push_name="New")
    outcome = session_restore_chain(session_name="repaired")
    assert outcome.source == "live" and outcome.device_jid == "15559990000:3@s.whatsapp.net"


def test_when_every_newer_backup_is_corrupt_the_stale_store_is_kept():
    store = make_paired_store("nonewer")
    session_restore_chain(session_name="nonewer")
    machine_a = archive_from_store(store)
    backup_create(session_name="nonewer", reason="manual")
    store.wipe()
    session_restore_chain(session_name="nonewer")
    newer = backup_create(session_name="nonewer", reason="manual")
    stored = bytearray(SessionBackup.objects.get(pk=newer.pk).archive)
    stored[-10] ^= 0xFF
    SessionBackup.objects.filter(pk=newer.pk).update(archive=bytes(stored))
    store_restore_archive(store=store, archive=machine_a, keep_old=False, generation=1)
    outcome = session_restore_chain(session_name="nonewer")
    assert outcome.source == "live" and "no newer backup restores" in outcome.detail
    assert SessionBackup.objects.get(pk=newer.pk).state == "corrupt"


def test_a_row_whose_generation_differs_from_its_archive_is_not_restorable():
    make_paired_store("tamper")
    session_restore_chain(session_name="tamper")
    backup = backup_create(session_name="tamper", reason="manual")
    SessionBackup.objects.filter(pk=backup.pk).update(store_generation=99)
    backup.refresh_from_db()
    with pytest.raises(ArchiveError, match="generation 1, its row says 99"):
        backup_open(backup=backup)


def test_a_scheduled_backup_of_an_unchanged_store_is_still_taken_in_a_new_generation():
    make_paired_store("calm")
    session_restore_chain(session_name="calm")
    assert backup_create(session_name="calm", reason="scheduled").store_generation == 1
    assert backup_create(session_name="calm", reason="scheduled") is None  # unchanged, same run
    session_restore_chain(session_name="calm")  # a new run
    assert backup_create(session_name="calm", reason="scheduled").store_generation == 2
