"""What neonize itself sees in a store, asked in a subprocess (neonize never loads into pytest)."""

from __future__ import annotations

from .factories import neonize_run

_DEVICES = """
import sys
from neonize.client import ClientFactory
for device in ClientFactory.get_all_devices_from_db(sys.argv[1]):
    print("DEVICE", device.JID.User + "@" + device.JID.Server, device.PushName)
"""


def neonize_devices(dsn: str) -> list[str]:
    """The device JIDs ``ClientFactory.get_all_devices_from_db`` lists for ``dsn``."""
    result = neonize_run(_DEVICES, dsn)
    assert result.returncode == 0, result.stderr[-2000:]
    return [line.split()[1] for line in result.stdout.splitlines() if line.startswith("DEVICE ")]
