"""Group metadata cache: admin checks without a network call per message.

``transport.group_info`` is a round trip to WhatsApp on the real transport. The router asks this
cache instead: an entry lives ``ttl`` seconds, group change events (join, leave, promote, demote,
name, topic) are applied to the cached entry in place, and a failed fetch is remembered for a short
while so a broken group does not cost a network call per message either. ``clear()`` lets the
memory monitor shed it; everything comes back on demand.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from bot.transport.base import GroupChange, GroupInfo, Participant, Transport, TransportError, jid_user

log = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 300.0
FAILURE_TTL_SECONDS = 30.0


class GroupCache:
    def __init__(
        self,
        *,
        transport: Transport,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = DEFAULT_TTL_SECONDS,
        failure_ttl: float = FAILURE_TTL_SECONDS,
        max_groups: int = 2000,
    ) -> None:
        self.transport = transport
        self.clock = clock
        self.ttl = ttl
        self.failure_ttl = failure_ttl
        self.max_groups = max_groups
        self._entries: OrderedDict[str, tuple[float, GroupInfo | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, chat: str) -> GroupInfo | None:
        """The group's metadata (cached), or None when it cannot be fetched right now."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(chat)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(chat)
                return entry[1]
        return self.refresh(chat)

    def refresh(self, chat: str) -> GroupInfo | None:
        """Fetch from the transport now (a network call) and cache the answer."""
        self.fetches += 1
        try:
            info: GroupInfo | None = self.transport.group_info(chat)
            expires = self.clock() + self.ttl
        except TransportError as exc:
            log.warning("group info unavailable", extra={"chat": chat, "error": str(exc)})
            info, expires = None, self.clock() + self.failure_ttl
        except Exception:
            log.exception("group info crashed", extra={"chat": chat})
            info, expires = None, self.clock() + self.failure_ttl
        self._put(chat, info, expires)
        return info

    def put(self, info: GroupInfo) -> None:
        self._put(info.chat, info, self.clock() + self.ttl)

    def _put(self, chat: str, info: GroupInfo | None, expires: float) -> None:
        with self._lock:
            self._entries[chat] = (expires, info)
            self._entries.move_to_end(chat)
            while len(self._entries) > self.max_groups:
                self._entries.popitem(last=False)

    def peek(self, chat: str) -> GroupInfo | None:
        """The cached entry, fresh or not, without fetching."""
        entry = self._entries.get(chat)
        return entry[1] if entry else None

    def invalidate(self, chat: str) -> None:
        with self._lock:
            self._entries.pop(chat, None)

    def clear(self) -> int:
        """Forget everything (memory shedding); returns how many groups were dropped."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
        return count

    def __len__(self) -> int:
        return len(self._entries)

    def apply_change(self, change: GroupChange) -> None:
        """Bring a cached entry up to date with a group change event (no network call)."""
        with self._lock:
            entry = self._entries.get(change.chat)
            if entry is None or entry[1] is None:
                return
            expires, info = entry
            self._entries[change.chat] = (expires, apply_group_change(info, change))

    def note_member(self, chat: str, jid: str, *, phone: str = "") -> None:
        """A message from ``jid`` proves membership: add a sender the cached entry does not list.

        Join events can be missed (the bot was offline, a console line introduced a new member);
        without this, a fresh member could not be kicked or warned until the entry expires.
        """
        entry = self._entries.get(chat)
        if entry is None or entry[1] is None:
            return
        info = entry[1]
        user = jid_user(jid)
        for p in info.participants:
            if (
                user == jid_user(p.jid)
                or user == p.phone
                or (p.lid and user == jid_user(p.lid))
                or (phone and phone == p.phone)
            ):
                return
        with self._lock:
            current = self._entries.get(chat)
            if current is None or current[1] is not info:
                return
            member = Participant(jid=jid, phone=phone or (user if jid.endswith("@s.whatsapp.net") else ""))
            self._entries[chat] = (current[0], replace(info, participants=(*info.participants, member)))


def apply_group_change(info: GroupInfo, change: GroupChange) -> GroupInfo:
    """``info`` after ``change``: members joined or left, admins promoted or demoted, name, topic."""

    def key(jid: str) -> str:
        return jid_user(jid)

    left = {key(j) for j in change.left}
    promoted = {key(j) for j in change.promoted}
    demoted = {key(j) for j in change.demoted}

    def matches(p: Participant, wanted: set[str]) -> bool:
        return bool({key(p.jid), key(p.lid) if p.lid else "", p.phone} & wanted)

    participants = []
    for p in info.participants:
        if matches(p, left):
            continue
        if matches(p, promoted):
            p = replace(p, is_admin=True)
        elif matches(p, demoted):
            p = replace(p, is_admin=False, is_super_admin=False)
        participants.append(p)
    present = {key(p.jid) for p in participants} | {key(p.lid) for p in participants if p.lid}
    for jid in change.joined:
        if key(jid) not in present:
            participants.append(Participant(jid=jid, phone=key(jid) if jid.endswith("@s.whatsapp.net") else ""))
            present.add(key(jid))
    return replace(
        info,
        participants=tuple(participants),
        name=change.name if change.name is not None else info.name,
        topic=change.topic if change.topic is not None else info.topic,
    )
