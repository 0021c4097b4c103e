"""The whatsmeow store schema of neonize 0.5.2 (whatsmeow version 15, compat 8), as DDL.

Captured from the SQLite file an offline neonize ``connect()`` creates; the same statements produce
the identical schema in PostgreSQL (whatsmeow ships one dialect-neutral "latest schema"). A restore
into a missing store needs the tables without loading neonize's Go library in the supervisor, so
the statements live here. ``tests/sessions_store/test_whatsmeow_schema.py`` checks them against
what neonize itself creates, on both backends, so a neonize upgrade that changes the schema fails
loudly instead of restoring into the wrong tables.
"""

from __future__ import annotations

import functools
import sqlite3

WHATSMEOW_VERSION: tuple[int, int] = (15, 8)

DDL: tuple[str, ...] = (
    "CREATE TABLE whatsmeow_version (version INTEGER, compat INTEGER)",
    "CREATE TABLE whatsmeow_device (\n\tjid TEXT PRIMARY KEY,\n\tlid TEXT,\n\n\tfacebook_uuid uuid,\n\n\tregistration_id BIGINT NOT NULL CHECK ( registration_id >= 0 AND registration_id < 4294967296 ),\n\n\tnoise_key    bytea NOT NULL CHECK ( length(noise_key) = 32 ),\n\tidentity_key bytea NOT NULL CHECK ( length(identity_key) = 32 ),\n\n\tsigned_pre_key     bytea   NOT NULL CHECK ( length(signed_pre_key) = 32 ),\n\tsigned_pre_key_id  INTEGER NOT NULL CHECK ( signed_pre_key_id >= 0 AND signed_pre_key_id < 16777216 ),\n\tsigned_pre_key_sig bytea   NOT NULL CHECK ( length(signed_pre_key_sig) = 64 ),\n\n\tadv_key             bytea NOT NULL,\n\tadv_details         bytea NOT NULL,\n\tadv_account_sig     bytea NOT NULL CHECK ( length(adv_account_sig) = 64 ),\n\tadv_account_sig_key bytea NOT NULL CHECK ( length(adv_account_sig_key) = 32 ),\n\tadv_device_sig      bytea NOT NULL CHECK ( length(adv_device_sig) = 64 ),\n\n\tplatform      TEXT NOT NULL DEFAULT '',\n\tbusiness_name TEXT NOT NULL DEFAULT '',\n\tpush_name     TEXT NOT NULL DEFAULT '',\n\n\tlid_migration_ts BIGINT NOT NULL DEFAULT 0,\n\n\tcompanion_meta_nonce TEXT NOT NULL DEFAULT ''\n)",
    "CREATE TABLE whatsmeow_identity_keys (\n\tour_jid  TEXT,\n\ttheir_id TEXT,\n\tidentity bytea NOT NULL CHECK ( length(identity) = 32 ),\n\n\tPRIMARY KEY (our_jid, their_id),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_pre_keys (\n\tjid      TEXT,\n\tkey_id   INTEGER          CHECK ( key_id >= 0 AND key_id < 16777216 ),\n\tkey      bytea   NOT NULL CHECK ( length(key) = 32 ),\n\tuploaded BOOLEAN NOT NULL,\n\n\tPRIMARY KEY (jid, key_id),\n\tFOREIGN KEY (jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_sessions (\n\tour_jid  TEXT,\n\ttheir_id TEXT,\n\tsession  bytea,\n\n\tPRIMARY KEY (our_jid, their_id),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_sender_keys (\n\tour_jid    TEXT,\n\tchat_id    TEXT,\n\tsender_id  TEXT,\n\tsender_key bytea NOT NULL,\n\n\tPRIMARY KEY (our_jid, chat_id, sender_id),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_app_state_sync_keys (\n\tjid         TEXT,\n\tkey_id      bytea,\n\tkey_data    bytea  NOT NULL,\n\ttimestamp   BIGINT NOT NULL,\n\tfingerprint bytea  NOT NULL,\n\n\tPRIMARY KEY (jid, key_id),\n\tFOREIGN KEY (jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_app_state_version (\n\tjid     TEXT,\n\tname    TEXT,\n\tversion BIGINT NOT NULL,\n\thash    bytea  NOT NULL CHECK ( length(hash) = 128 ),\n\n\tPRIMARY KEY (jid, name),\n\tFOREIGN KEY (jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_app_state_mutation_macs (\n\tjid       TEXT,\n\tname      TEXT,\n\tversion   BIGINT,\n\tindex_mac bytea          CHECK ( length(index_mac) = 32 ),\n\tvalue_mac bytea NOT NULL CHECK ( length(value_mac) = 32 ),\n\n\tPRIMARY KEY (jid, name, version, index_mac),\n\tFOREIGN KEY (jid, name) REFERENCES whatsmeow_app_state_version(jid, name) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_contacts (\n\tour_jid        TEXT,\n\ttheir_jid      TEXT,\n\tfirst_name     TEXT,\n\tfull_name      TEXT,\n\tpush_name      TEXT,\n\tbusiness_name  TEXT,\n\tredacted_phone TEXT,\n\n\tPRIMARY KEY (our_jid, their_jid),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_chat_settings (\n\tour_jid       TEXT,\n\tchat_jid      TEXT,\n\tmuted_until   BIGINT  NOT NULL DEFAULT 0,\n\tpinned        BOOLEAN NOT NULL DEFAULT false,\n\tarchived      BOOLEAN NOT NULL DEFAULT false,\n\n\tPRIMARY KEY (our_jid, chat_jid),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_message_secrets (\n\tour_jid    TEXT,\n\tchat_jid   TEXT,\n\tsender_jid TEXT,\n\tmessage_id TEXT,\n\tkey        bytea NOT NULL,\n\n\tPRIMARY KEY (our_jid, chat_jid, sender_jid, message_id),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_privacy_tokens (\n\tour_jid          TEXT,\n\ttheir_jid        TEXT,\n\ttoken            bytea  NOT NULL,\n\ttimestamp        BIGINT NOT NULL,\n\tsender_timestamp BIGINT,\n\tPRIMARY KEY (our_jid, their_jid)\n)",
    "CREATE INDEX idx_whatsmeow_privacy_tokens_our_jid_timestamp\nON whatsmeow_privacy_tokens (our_jid, timestamp)",
    "CREATE TABLE whatsmeow_nct_salt (\n\tour_jid TEXT PRIMARY KEY,\n\tsalt    bytea NOT NULL,\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_lid_map (\n\tlid TEXT PRIMARY KEY,\n\tpn  TEXT UNIQUE NOT NULL\n)",
    "CREATE TABLE whatsmeow_event_buffer (\n\tour_jid          TEXT   NOT NULL,\n\tciphertext_hash  bytea  NOT NULL CHECK ( length(ciphertext_hash) = 32 ),\n\tplaintext        bytea,\n\tserver_timestamp BIGINT NOT NULL,\n\tinsert_timestamp BIGINT NOT NULL,\n\tPRIMARY KEY (our_jid, ciphertext_hash),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE TABLE whatsmeow_retry_buffer (\n\tour_jid    TEXT   NOT NULL,\n\tchat_jid   TEXT   NOT NULL,\n\tmessage_id TEXT   NOT NULL,\n\tformat     TEXT   NOT NULL,\n\tplaintext  bytea  NOT NULL,\n\ttimestamp  BIGINT NOT NULL,\n\n\tPRIMARY KEY (our_jid, chat_jid, message_id),\n\tFOREIGN KEY (our_jid) REFERENCES whatsmeow_device(jid) ON DELETE CASCADE ON UPDATE CASCADE\n)",
    "CREATE INDEX whatsmeow_retry_buffer_timestamp_idx ON whatsmeow_retry_buffer (our_jid, timestamp)",
)

TABLES: tuple[str, ...] = (
    "whatsmeow_version",
    "whatsmeow_device",
    "whatsmeow_identity_keys",
    "whatsmeow_pre_keys",
    "whatsmeow_sessions",
    "whatsmeow_sender_keys",
    "whatsmeow_app_state_sync_keys",
    "whatsmeow_app_state_version",
    "whatsmeow_app_state_mutation_macs",
    "whatsmeow_contacts",
    "whatsmeow_chat_settings",
    "whatsmeow_message_secrets",
    "whatsmeow_privacy_tokens",
    "whatsmeow_nct_salt",
    "whatsmeow_lid_map",
    "whatsmeow_event_buffer",
    "whatsmeow_retry_buffer",
)
"""Every whatsmeow table, parents before children (the order to create and fill them)."""


@functools.cache
def _columns_of_ddl() -> dict[str, tuple[str, ...]]:
    conn = sqlite3.connect(":memory:")
    try:
        for statement in DDL:
            conn.execute(statement)
        return {name: tuple(row[1] for row in conn.execute(f"PRAGMA table_info({name})")) for name in TABLES}
    finally:
        conn.close()


def schema_columns(version: tuple[int, int]) -> dict[str, tuple[str, ...]] | None:
    """Every table of whatsmeow schema ``version`` and its columns, read from the DDL itself;
    ``None`` for a version this code does not know. What an archive's names are checked against
    before any SQL is built from them."""
    return _columns_of_ddl() if tuple(version) == WHATSMEOW_VERSION else None
