"""Antispam: a member flooding a group (N messages in M seconds) or repeating one message.

``flood_step`` is the pure decision (state and message in, state and verdict out); the tracker
keeps one small state per (group, member), at most ``max_members`` of them (the least recent
dropped), each holding at most N times: a flood of any size costs the same memory, and each
message costs one step. Once a flood is acted on it is a streak: its later messages are
``ongoing`` (deleted, not warned again) until the member is quiet for M seconds.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True)
class FloodLimits:
    messages: int  # this many ...
    seconds: float  # ... within this many seconds is a flood
    repeats: int  # this many identical messages in a row is a flood
    repeat_gap: float = 60.0  # identical messages further apart than this do not add up


LEVELS: dict[str, FloodLimits] = {
    "low": FloodLimits(messages=10, seconds=10.0, repeats=5),
    "medium": FloodLimits(messages=7, seconds=10.0, repeats=4),
    "high": FloodLimits(messages=5, seconds=10.0, repeats=3),
}
DEFAULT_LEVEL = "medium"


@dataclass(frozen=True)
class FloodState:
    times: tuple[float, ...] = ()  # the last ``messages`` arrival times, oldest first
    text_key: int = 0
    repeats: int = 0
    last_at: float = float("-inf")
    streak_until: float = float("-inf")  # a flood acted on goes on until then


def flood_step(state: FloodState | None, *, now: float, text: str, limits: FloodLimits) -> tuple[FloodState, str]:
    """One message: the member's next state and the verdict ('', 'burst', 'repeat' or 'ongoing')."""
    state = state or FloodState()
    if now < state.streak_until:
        return FloodState(streak_until=now + limits.seconds, last_at=now), "ongoing"
    times = (*state.times, now)[-limits.messages :]
    key = hash(" ".join(text.split()).casefold()) if text else 0
    same = bool(text) and key == state.text_key and now - state.last_at <= limits.repeat_gap
    repeats = state.repeats + 1 if same else 1
    if len(times) >= limits.messages and now - times[0] <= limits.seconds:
        return FloodState(streak_until=now + limits.seconds, last_at=now), "burst"
    if text and repeats >= limits.repeats:
        return FloodState(streak_until=now + limits.seconds, last_at=now), "repeat"
    return FloodState(times=times, text_key=key, repeats=repeats, last_at=now), ""


class FloodTracker:
    """The members' flood states, bounded in number; safe for the dispatcher threads."""

    def __init__(self, *, max_members: int = 5000) -> None:
        self.max_members = max_members
        self._states: OrderedDict[tuple[str, str], FloodState] = OrderedDict()
        self._lock = threading.Lock()

    def step(self, chat: str, member: str, *, now: float, text: str, limits: FloodLimits) -> str:
        with self._lock:
            key = (chat, member)
            state, verdict = flood_step(self._states.get(key), now=now, text=text[:4096], limits=limits)
            self._states[key] = state
            self._states.move_to_end(key)
            while len(self._states) > self.max_members:
                self._states.popitem(last=False)
        return verdict

    def forget(self, chat: str, member: str) -> None:
        with self._lock:
            self._states.pop((chat, member), None)

    def __len__(self) -> int:
        return len(self._states)
