"""A process that backs a session up and stops at a chosen point until it is killed.

``python backup_child.py SESSION POINT``: POINT is ``snapshot`` (inside the encryption step, the
session's backup lock held), ``insert`` (the verified row INSERTed, its transaction not committed)
or ``none`` (run to the end). It prints ``AT <point>`` when it gets there, then waits on stdin.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

import django  # noqa: E402

django.setup()

from sessions_store import crypto  # noqa: E402
from sessions_store.models import SessionBackup  # noqa: E402
from sessions_store.services import backups  # noqa: E402


def stop_here(point: str) -> None:
    print(f"AT {point}", flush=True)
    sys.stdin.read()  # until the parent kills us


def main(session: str, point: str) -> None:
    if point == "snapshot":
        real_pack = crypto.pack

        def pack(raw: bytes, **binding):
            stop_here("snapshot")
            return real_pack(raw, **binding)

        backups.crypto.pack = pack
    if point == "insert":
        real_save = SessionBackup.save

        def save(self, *args, **kwargs):
            real_save(self, *args, **kwargs)
            if self.state == SessionBackup.State.VERIFIED:
                stop_here("insert")

        SessionBackup.save = save
    backup = backups.backup_create(session_name=session, reason="manual")
    print("RESULT", "none" if backup is None else backup.state, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
