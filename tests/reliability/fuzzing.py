"""What the fuzz modules share: one hypothesis profile, and a tally of outcomes printed as a figure."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings


def fuzz_settings(max_examples: int, *, deadline_ms: int = 1000) -> settings:
    """Bounded and reproducible (``derandomize``): the suite's run time and result do not vary;
    ``deadline`` fails an example that hangs; no example database is written into the tree."""
    return settings(
        max_examples=max_examples,
        deadline=deadline_ms,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Outcomes:
    """How many inputs each fuzz target took and how many it refused with its own clear error."""

    def __init__(self, figure: str) -> None:
        self.figure = figure
        self.counts: Counter[str] = Counter()

    def took(self, target: str) -> None:
        self.counts[f"{target}.took"] += 1

    def refused(self, target: str) -> None:
        self.counts[f"{target}.refused"] += 1

    def line(self) -> str:
        return f"FIGURE {self.figure} " + " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
