"""A management command in its own process, stopped at a chosen point until the test kills it.

``python command_child.py POINT COMMAND [ARGS...]``: POINT is ``pack`` (a backup is inside its
encryption step, the session's backup lock held) or ``restore_write`` (a restore is writing its
temporary store, the restore lock held). It prints ``AT <point>`` there, then waits on stdin, so
the test knows exactly where the SIGKILL lands; the command itself runs unchanged.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from sessions_store.services import backups  # noqa: E402
from sessions_store.store import postgres, sqlite  # noqa: E402


def stop_here(point: str) -> None:
    print(f"AT {point}", flush=True)
    sys.stdin.read()  # until the parent kills us


def main(point: str, command: str, *args: str) -> None:
    if point == "pack":
        real_pack = backups.crypto.pack

        def pack(raw: bytes, **binding):
            stop_here(point)
            return real_pack(raw, **binding)

        backups.crypto.pack = pack
    elif point == "restore_write":
        for module in (sqlite, postgres):
            real = module.coerce_rows

            def coerce_rows(table, types, real=real):
                stop_here(point)  # the temporary store exists and is half written
                return real(table, types)

            module.coerce_rows = coerce_rows
    call_command(command, *args)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
