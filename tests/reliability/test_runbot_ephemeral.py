# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""Ephemeral disk (issue 10): start -> stop -> wipe ``WA_STORE_DIR`` -> start, again and again, on SQLite.

A cloud host wipes the disk at every restart; the session must come back from the database every
time: the same device JID, never a QR, never "needs pairing".

- 100 cycles in-process through the supervisor's own start and stop steps (``Supervisor.restore``:
  the restore chain; ``Supervisor.backup("shutdown")``: the final backup), with the store changing
  between cycles as whatsmeow's would (one more identity key per cycle), so each start must come back
  from the newest backup and nothing older;
- 3 cycles with real ``runbot`` processes end to end (SIGTERM, exit 0, shutdown backup, wipe), the
  child "connecting" only when the restored store holds the device (``runbot_fake_neonize``).
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import time

import pytest

from bot.supervisor.loop import Supervisor
from sessions_store.store import SqliteStore, store_for
from tests.bot.fixtures.processes import child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.reliability.runbot_cluster import cluster_env, report, start_bot
from tests.sessions_store.factories import DEFAULT_JID, make_paired_store, store_insert

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

IN_PROCESS_CYCLES = 100
PROCESS_CYCLES = 3


@pytest.fixture
def sqlite_only():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the ephemeral disk is the SQLite store's concern (a PostgreSQL store is not on the disk)")


def identity_keys(store: SqliteStore) -> int:
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT count(*) FROM whatsmeow_identity_keys").fetchone()[0]


def test_a_hundred_wiped_disks_restore_the_same_device_and_its_newest_state(settings, sqlite_only):
    session = "ephemeral"
    store = make_paired_store(session)
    assert isinstance(store, SqliteStore)
    supervisor = Supervisor(session_name=session, transport="neonize", scheduler=False)
    rng = random.Random(10)
    keys = identity_keys(store)
    sources = []
    started = time.perf_counter()
    for cycle in range(IN_PROCESS_CYCLES):
        outcome = supervisor.restore()  # start
        health = store_for(session).health()
        assert not outcome.needs_pairing, (cycle, outcome)
        assert health.healthy and health.device_jid == DEFAULT_JID, (cycle, health)
        assert identity_keys(store) == keys, f"cycle {cycle}: an older state came back"
        sources.append(outcome.source)
        # The bot ran: whatsmeow learned one more contact's identity.
        store_insert(store, {"whatsmeow_identity_keys": [(DEFAULT_JID, f"1777{cycle:07d}.0", rng.randbytes(32))]})
        keys += 1
        assert supervisor.backup("shutdown").startswith("backup ")  # stop
        shutil.rmtree(settings.WA_STORE_DIR)  # the host wiped the disk
        assert not store.path.exists()
    seconds = time.perf_counter() - started
    assert sources[0] == "live" and set(sources[1:]) == {"backup"}
    report(
        "ephemeral_disk_in_process",
        cycles=IN_PROCESS_CYCLES,
        same_jid=IN_PROCESS_CYCLES,
        qr=0,
        ms_per_cycle=round(seconds * 1000 / IN_PROCESS_CYCLES, 1),
    )


def test_three_real_runbot_restarts_on_a_wiped_disk_come_back_paired(runbot_env, tmp_path, child_db, settings):
    if child_db.sqlite_path is None:
        pytest.skip("the ephemeral disk is the SQLite store's concern (a PostgreSQL store is not on the disk)")
    session = "wiped"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    seconds = []
    for cycle in range(PROCESS_CYCLES):
        began = time.monotonic()
        bot = start_bot(env, tmp_path, session)
        source = bot.wait_for(r"session restore .*source=(\w+) needs_pairing=(\w+)", timeout=40)[0]
        [connected] = bot.wait_for(r"fake neonize connected device_jid=(\S+)", timeout=40)
        bot.wait_for(rf"connection state session={session} from=connecting to=connected")
        seconds.append(time.monotonic() - began)
        bot.process.send_signal(signal.SIGTERM)
        code, _ = bot.wait(30)
        assert code == 0, bot.log
        assert source.group(1) == ("live" if cycle == 0 else "backup") and source.group(2) == "False", bot.log
        assert connected.group(1) == DEFAULT_JID
        assert "showing a QR" not in bot.log and "Scan this QR" not in bot.log
        [(reason, state)] = child_db.rows(
            "SELECT b.reason, b.state FROM sessions_store_sessionbackup b JOIN sessions_store_whatsappsession s "
            "ON s.id = b.session_id WHERE s.name = %s ORDER BY b.id DESC LIMIT 1",
            (session,),
        )
        assert (reason, state) == ("shutdown", "verified")
        shutil.rmtree(settings.WA_STORE_DIR)  # the host wiped the disk
    shutdowns = child_db.rows(
        "SELECT count(*) FROM sessions_store_sessionbackup b JOIN sessions_store_whatsappsession s "
        "ON s.id = b.session_id WHERE s.name = %s AND b.reason = 'shutdown' AND b.state = 'verified'",
        (session,),
    )
    assert shutdowns == [(PROCESS_CYCLES,)]
    report(
        "ephemeral_disk_runbot",
        cycles=PROCESS_CYCLES,
        same_jid=PROCESS_CYCLES,
        qr=0,
        start_to_connected_s=round(max(seconds), 2),
    )
