"""The order of the shutdown's database steps: where the live store is shared (PostgreSQL) the lease
goes before the final backup, so the standby starts at once; with SQLite the backup comes first."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.supervisor.stopping import Stopping


class Owner(Stopping):
    """Only what ``_database_steps`` reads: a session that ran a child and holds its lease."""

    def __init__(self) -> None:
        self.uses_session = True
        self.ownership = SimpleNamespace(held=True, release=lambda: None)
        self.starts = 1
        self.exit_code = 0
        self.session_name = "order"
        self.buffer = SimpleNamespace(drain=lambda: None)

    def write_heartbeat(self) -> None: ...

    def record(self, *args: object) -> None: ...

    def backup(self, reason: str) -> str:
        return reason


def names(steps) -> list[str]:
    return [name for name, _ in steps]


def test_on_a_shared_store_the_lease_is_released_before_the_final_backup():
    assert names(Owner()._database_steps(True, shared_store=True)) == [
        "buffered_writes",
        "last_beat",
        "status",
        "status",
        "lease_release",
        "final_backup",
        "buffered_writes",
    ]


def test_with_a_store_per_machine_the_backup_is_visible_before_the_lease_goes():
    order = names(Owner()._database_steps(True, shared_store=False))
    assert order.index("final_backup") < order.index("lease_release")
    assert order.index("status") < order.index("lease_release")  # never written over the next owner's


@pytest.mark.parametrize("shared", [True, False])
def test_a_standby_or_a_worker_that_never_started_a_child_takes_no_backup(shared: bool):
    owner = Owner()
    owner.starts = 0
    assert "final_backup" not in names(owner._database_steps(True, shared_store=shared))
    owner.starts, owner.ownership.held = 1, False
    assert names(owner._database_steps(False, shared_store=shared)) == ["buffered_writes", "lease_release", "buffered_writes"]
