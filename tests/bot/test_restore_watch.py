"""The stale-store watch, pure: (source, failed total at the restore, readings over time) -> one alert or none."""

from __future__ import annotations

import pytest

from bot.supervisor.restore_watch import RestoreWatch, Rise


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


TABLE = [
    # (source, baseline, [(seconds after the restore, failed total)], the alerts seen)
    ("backup", 0, [(10, 9), (20, 10), (30, 40)], [Rise(10, 20.0, "backup")]),  # once, at the threshold
    ("backup", 5, [(10, 14), (20, 15)], [Rise(10, 20.0, "backup")]),  # counted from the restore, not from 0
    ("env_session_data", 0, [(60, 10)], [Rise(10, 60.0, "env_session_data")]),
    ("env_credentials", 0, [(60, 10)], [Rise(10, 60.0, "env_credentials")]),
    ("backup", 0, [(1800, 9), (1801, 50)], []),  # the window passed quietly: later failures are other news
    ("backup", 0, [(1801, 50)], []),
    ("live", 0, [(10, 50)], []),  # the store was kept: nothing restored, nothing to suspect
    ("none", 0, [(10, 50)], []),
    ("busy", 0, [(10, 50)], []),
]


@pytest.mark.parametrize(("source", "baseline", "readings", "alerts"), TABLE)
def test_a_rise_of_failed_decryptions_after_a_restore_alerts_once_within_the_window(source, baseline, readings, alerts):
    clock = Clock()
    watch = RestoreWatch(threshold=10, minutes=30, clock=clock)
    watch.arm(source=source, baseline=baseline)
    seen = []
    for at, total in readings:
        clock.now = at
        rise = watch.observe(total)
        if rise is not None:
            seen.append(rise)
    assert seen == alerts


def test_a_second_restore_arms_the_watch_again():
    clock = Clock()
    watch = RestoreWatch(threshold=2, minutes=1, clock=clock)
    watch.arm(source="backup", baseline=0)
    assert watch.observe(2) == Rise(2, 0.0, "backup")
    clock.now = 100
    assert watch.arm(source="backup", baseline=2)
    assert watch.observe(3) is None and watch.observe(4) == Rise(2, 0.0, "backup")
