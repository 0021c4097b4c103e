"""Loaded by every Python process whose PYTHONPATH starts with this folder (the runbot tests' processes).

``bot.transport.neonize.client`` is served from ``tests/reliability/runbot_fake_neonize.py``: the supervisor
then treats the session exactly as with WhatsApp (lease, restore chain, shutdown backup) while the
child "connects" without a network. Nothing else is changed; the supervisor never imports it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

FAKE = Path(__file__).resolve().parents[1] / "runbot_fake_neonize.py"


class _FakeNeonizeFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201 - importlib's signature
        if fullname != "bot.transport.neonize.client":
            return None
        return importlib.util.spec_from_file_location(fullname, FAKE)


sys.meta_path.insert(0, _FakeNeonizeFinder())
