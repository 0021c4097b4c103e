"""Capped exponential back-off with full jitter, shared by the child (reconnects) and the supervisor
(child restarts), so both pace themselves by the same rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BackoffPolicy:
    """Capped exponential back-off with full jitter: delay = jitter(min(cap, base * 2**(attempt-1)))."""

    base: float = 1.0
    cap: float = 120.0
    max_attempts: int = 5
    jitter: Callable[[float], float] = field(default=lambda ceiling: random.uniform(0, ceiling), compare=False)

    def ceiling(self, attempt: int) -> float:
        return min(self.cap, self.base * (2 ** max(0, attempt - 1)))

    def delay(self, attempt: int) -> float:
        return max(0.0, min(self.cap, self.jitter(self.ceiling(attempt))))
