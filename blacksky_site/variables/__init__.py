"""Declarations of the environment variables, one module per concern, joined by ``blacksky_site.config``.

``Variable`` lives here so that each declaration module imports it without importing ``config``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Variable:
    name: str
    parse: Callable[[str], Any]
    default: str
    help: str
    secret: bool = False
    used_by: str = ""
