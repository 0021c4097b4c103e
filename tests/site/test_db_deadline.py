# ruff: noqa: F811 - the private_pg fixture imported from tests.support.private_pg is a parameter here
"""Client-side bounds on database calls: a query whose server stopped answering fails in time.

SQLite: a statement that runs too long is interrupted (the test database itself). PostgreSQL: a
private server is frozen (SIGSTOP) under a real Django process; its query is cut at
``DB_STATEMENT_TIMEOUT`` + 1 s, the next connect fails at ``DB_CONNECT_TIMEOUT``, and after the
thaw the same process works again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from django.db import OperationalError, connection

from blacksky_site.db_deadline import db_deadline
from tests.bot.fixtures.processes import ROOT, base_env
from tests.support.private_pg import private_pg  # noqa: F401 - a fixture

LONG_SQLITE = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"

PROBE = r"""
import json, sys, time
import django
django.setup()
from django.db import OperationalError, connection

def timed():
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        outcome = "ok"
    except OperationalError as exc:
        outcome = type(exc).__name__
        connection.close()
    return {"outcome": outcome, "seconds": round(time.monotonic() - started, 2)}

print(json.dumps(timed()), flush=True)
for _line in sys.stdin:
    print(json.dumps(timed()), flush=True)
"""


@pytest.mark.django_db
def test_a_sqlite_statement_past_its_deadline_is_interrupted_and_the_connection_still_works():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite interrupt path")
    started = time.monotonic()
    with pytest.raises(OperationalError, match="interrupted"), db_deadline(seconds=0.3), connection.cursor() as cursor:
        cursor.execute(LONG_SQLITE)
    assert time.monotonic() - started < 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@pytest.mark.slow
def test_a_frozen_postgres_cuts_the_query_bounds_the_connect_and_the_process_recovers(private_pg, tmp_path):
    env = base_env(tmp_path)
    env.update(DATABASE_URL=private_pg.url, DB_STATEMENT_TIMEOUT="2", DB_CONNECT_TIMEOUT="2", LOG_LEVEL="ERROR")
    probe = subprocess.Popen(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )

    def ask() -> dict:
        probe.stdin.write("\n")
        probe.stdin.flush()
        return json.loads(probe.stdout.readline())

    try:
        assert json.loads(probe.stdout.readline())["outcome"] == "ok"
        private_pg.freeze()
        cut = ask()  # on the open connection: cut by the watchdog (2 s + 1 s)
        connect = ask()  # a new connection: the driver's connect_timeout (2 s)
        private_pg.thaw()
        after = ask()
    finally:
        private_pg.thaw()
        probe.kill()
        probe.wait()
    assert cut["outcome"] == "OperationalError" and 2.5 <= cut["seconds"] < 6, cut
    assert connect["outcome"] == "OperationalError" and connect["seconds"] < 5, connect
    assert after["outcome"] == "ok", after
    print(f"FIGURE db_deadline cut_s={cut['seconds']} connect_s={connect['seconds']}")


SHOW_OPTIONS = (
    "import json, django; django.setup(); from django.conf import settings; "
    "print(json.dumps([settings.DATABASES['default']['OPTIONS'], settings.DB_STATEMENT_BOUND]))"
)


@pytest.mark.parametrize(
    ("argv", "statement"),
    [(["runbot"], "-c statement_timeout=3000"), (["migrate"], None)],
)
def test_every_postgres_connection_has_its_bounds_and_migrate_runs_without_the_statement_one(
    tmp_path, argv, statement
) -> None:
    env = base_env(tmp_path)
    env.update(
        DATABASE_URL="postgres://u@db.invalid:5432/x?options=-c%20search_path%3Dpublic",
        DB_STATEMENT_TIMEOUT="3",
        DB_CONNECT_TIMEOUT="4",
        DB_TCP_TIMEOUT="12",
    )
    code = f"import sys; sys.argv = ['manage.py', *{argv!r}]; " + SHOW_OPTIONS
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    options, bound = json.loads(out.stdout.strip().splitlines()[-1])
    assert {k: options[k] for k in ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_count")} == {
        "connect_timeout": 4,
        "keepalives": 1,
        "keepalives_idle": 3,
        "keepalives_count": 3,
    }
    assert options["tcp_user_timeout"] == 12000
    if statement is None:
        assert bound is None and "statement_timeout" not in options.get("options", "")
    else:
        assert bound == 3.0 and options["options"] == f"-c search_path=public {statement}"
