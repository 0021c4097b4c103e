"""Real whatsmeow stores for tests, built the way neonize builds them.

Once per test process an offline neonize ``connect()`` in a subprocess creates a store (it fails at
the dial, after creating the 17 tables of schema version (15, 8)); that file is the template.
``make_paired_store`` copies it (SQLite) or replays its DDL into the session's schema (PostgreSQL),
then inserts a device row as pairing would, plus a few Signal and app-state rows.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from psycopg import sql

from sessions_store.store import LiveStore, PostgresStore, SqliteStore, pg_connect, store_for

DEFAULT_JID = "15551234567:12@s.whatsapp.net"
_TEMPLATE: Path | None = None

_NEONIZE_SCRIPT = """
import sys
from neonize.client import NewClient
client = NewClient(sys.argv[1], uuid="template")
try:
    client.connect()
except Exception as exc:  # offline: the dial fails after the store was created
    print(type(exc).__name__, str(exc)[:120])
"""


def neonize_run(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a neonize snippet in a subprocess (neonize must never load into the test process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def neonize_template() -> Path:
    """A SQLite store exactly as neonize creates it (made once per test process)."""
    global _TEMPLATE
    if _TEMPLATE is not None and _TEMPLATE.exists():
        return _TEMPLATE
    path = Path(tempfile.mkdtemp(prefix="blacksky-wa-template-")) / "template.sqlite3"
    result = neonize_run(_NEONIZE_SCRIPT, str(path))
    if not path.exists():
        raise RuntimeError(f"neonize did not create a store: {result.stdout} {result.stderr[-500:]}")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    _TEMPLATE = path
    return path


def neonize_ddl() -> list[str]:
    conn = sqlite3.connect(neonize_template())
    try:
        return [r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid")]
    finally:
        conn.close()


def _rand(n: int, rng: random.Random) -> bytes:
    return rng.randbytes(n)


def device_rows(jid: str, rng: random.Random) -> dict[str, list[tuple]]:
    """A device row as pairing writes it, and a few rows of the other tables."""
    user = jid.split(":")[0].split("@")[0]
    device = (
        jid,
        f"{rng.randrange(10**14, 10**15)}:12@lid",
        rng.randrange(1, 2**32),
        _rand(32, rng),
        _rand(32, rng),
        _rand(32, rng),
        rng.randrange(1, 2**24),
        _rand(64, rng),
        _rand(32, rng),
        _rand(120, rng),
        _rand(64, rng),
        _rand(32, rng),
        _rand(64, rng),
        "android",
        "",
        "Test Bot",
    )
    contacts = [
        (jid, f"1555000{i:04d}@s.whatsapp.net", None, f"Friend {i}", f"friend{i}", None, None) for i in range(5)
    ]
    return {
        "whatsmeow_device": [device],
        "whatsmeow_identity_keys": [(jid, f"1555000{i:04d}.0", _rand(32, rng)) for i in range(5)],
        "whatsmeow_sessions": [(jid, f"1555000{i:04d}.0", _rand(400, rng)) for i in range(5)],
        "whatsmeow_pre_keys": [(jid, i, _rand(32, rng), i < 30) for i in range(1, 51)],
        "whatsmeow_app_state_sync_keys": [
            (jid, _rand(6, rng), _rand(60, rng), 1700000000 + i, _rand(20, rng)) for i in range(2)
        ],
        "whatsmeow_app_state_version": [(jid, name, 3, _rand(128, rng)) for name in ("regular", "critical_block")],
        "whatsmeow_app_state_mutation_macs": [(jid, "regular", 3, _rand(32, rng), _rand(32, rng)) for _ in range(4)],
        "whatsmeow_contacts": contacts,
        "whatsmeow_nct_salt": [(jid, _rand(32, rng))],
        "whatsmeow_lid_map": [(f"9{user}@lid", f"{user}@s.whatsapp.net")],
    }


_COLUMNS = {
    "whatsmeow_device": (
        "jid, lid, registration_id, noise_key, identity_key, signed_pre_key, signed_pre_key_id, signed_pre_key_sig, "
        "adv_key, adv_details, adv_account_sig, adv_account_sig_key, adv_device_sig, platform, business_name, push_name"
    ),
    "whatsmeow_identity_keys": "our_jid, their_id, identity",
    "whatsmeow_sessions": "our_jid, their_id, session",
    "whatsmeow_pre_keys": "jid, key_id, key, uploaded",
    "whatsmeow_app_state_sync_keys": "jid, key_id, key_data, timestamp, fingerprint",
    "whatsmeow_app_state_version": "jid, name, version, hash",
    "whatsmeow_app_state_mutation_macs": "jid, name, version, index_mac, value_mac",
    "whatsmeow_contacts": "our_jid, their_jid, first_name, full_name, push_name, business_name, redacted_phone",
    "whatsmeow_nct_salt": "our_jid, salt",
    "whatsmeow_lid_map": "lid, pn",
    "whatsmeow_sender_keys": "our_jid, chat_id, sender_id, sender_key",
    "whatsmeow_message_secrets": "our_jid, chat_jid, sender_jid, message_id, key",
}


def store_insert(store: LiveStore, rows_by_table: dict[str, list[tuple]]) -> None:
    """Insert rows into a live store with plain SQL, as whatsmeow would."""
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            for table, rows in rows_by_table.items():
                marks = ", ".join("?" * len(_COLUMNS[table].split(",")))
                conn.executemany(f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})", rows)
            conn.commit()
        finally:
            conn.close()
        return
    with pg_connect() as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        for table, rows in rows_by_table.items():
            marks = ", ".join(["%s"] * len(_COLUMNS[table].split(",")))
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})", rows)


def make_empty_store(session_name: str) -> LiveStore:
    """The session's store with neonize's tables and version row but no device (never paired)."""
    store = store_for(session_name)
    store.wipe()
    if isinstance(store, SqliteStore):
        store.directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(neonize_template(), store.path)
        return store
    assert isinstance(store, PostgresStore)
    ddl = neonize_ddl()
    with pg_connect() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(store.schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(store.schema)))
        for statement in ddl:
            conn.execute(statement)
        conn.execute("INSERT INTO whatsmeow_version (version, compat) VALUES (15, 8)")
    return store


def make_paired_store(session_name: str, *, jid: str = DEFAULT_JID, seed: int = 1) -> LiveStore:
    """A real whatsmeow store for ``session_name`` holding a paired device ``jid``."""
    store = make_empty_store(session_name)
    store_insert(store, device_rows(jid, random.Random(seed)))
    return store


def fill_store(store: LiveStore, *, megabytes: float, seed: int = 7, first: int = 0) -> int:
    """Add synthetic Signal sessions and sender keys until the rows hold about ``megabytes``;
    ``first`` numbers the new contacts (call again with the returned count to add more)."""
    rng = random.Random(seed + first)
    jid = store.health().device_jid
    target = int(megabytes * 1024 * 1024)
    sessions, sender_keys, secrets, total, i = [], [], [], 0, first
    while total < target:
        sessions.append((jid, f"1666{i:07d}.0", _rand(rng.randrange(300, 900), rng)))
        sender_keys.append((jid, f"1203630{i:05d}@g.us", f"1666{i:07d}.0", _rand(rng.randrange(100, 300), rng)))
        secrets.append(
            (jid, f"1666{i:07d}@s.whatsapp.net", f"1666{i:07d}@s.whatsapp.net", f"3EB0{i:012X}", _rand(32, rng))
        )
        total += len(sessions[-1][2]) + len(sender_keys[-1][3]) + 32 + 60
        i += 1
    store_insert(
        store,
        {"whatsmeow_sessions": sessions, "whatsmeow_sender_keys": sender_keys, "whatsmeow_message_secrets": secrets},
    )
    return i


def dead_pid() -> int:
    """The pid of a process that ran and was reaped (a lock or temp store's holder that is gone)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


@pytest.fixture
def isolated_sessions(settings, tmp_path: Path) -> None:
    """A test's own store folder, no session env vars, no Heroku, the key derived from SECRET_KEY."""
    settings.WA_STORE_DIR = tmp_path / "wa"
    settings.WA_SESSION_DATA = settings.WA_CREDENTIALS = settings.WA_AUTH_STATE = ""
    settings.HEROKU_API_KEY = settings.HEROKU_APP_NAME = ""
    settings.SESSION_ENCRYPTION_KEY = ""
