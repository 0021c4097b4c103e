"""Where a session's live whatsmeow store is, and plain-SQL access to it; ``store_for`` picks the backend.

neonize takes the store as the first argument of ``NewClient(dsn, uuid=session_name)``. With a
PostgreSQL ``DATABASE_URL`` each session gets its own schema ``wa_<name>`` of that database
(``postgres``); otherwise a SQLite file ``$WA_STORE_DIR/<name>.sqlite3`` in WAL mode (``sqlite``).
The shared interface, types and health check are in ``base``. Imported by the supervisor, the bot
child (only for the DSN), the web dyno and the django-q2 worker; it reads and writes the stores
with sqlite3/psycopg only, because the supervisor must never load neonize's Go library.
"""

from __future__ import annotations

from django.conf import settings

from .base import (
    ASIDE,
    CORRUPT,
    EMPTY,
    HEALTHY,
    MISSING,
    TEMP,
    Leftover,
    LiveStore,
    SessionNameError,
    StoreError,
    StoreHealth,
    TableData,
    logical_type,
    session_name_taken_message,
    store_key,
    this_host,
    validate_session_name,
)
from .postgres import PostgresStore, pg_connect
from .sqlite import SqliteStore

__all__ = [
    "ASIDE",
    "CORRUPT",
    "EMPTY",
    "HEALTHY",
    "MISSING",
    "TEMP",
    "Leftover",
    "LiveStore",
    "PostgresStore",
    "SessionNameError",
    "SqliteStore",
    "StoreError",
    "StoreHealth",
    "TableData",
    "database_is_postgres",
    "logical_type",
    "pg_connect",
    "session_name_taken_message",
    "store_for",
    "this_host",
    "store_key",
    "validate_session_name",
]


def database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def store_for(session_name: str) -> LiveStore:
    """The live store of ``session_name`` on the backend ``DATABASE_URL`` selects."""
    if database_is_postgres():
        return PostgresStore(session_name)
    return SqliteStore(session_name)
