"""Who may touch a session: the lease of ``sessions_store.lease`` (or nothing, for the console).

Imported by the supervisor and the fleet (``runbot``): taken before the restore chain, kept from
every pass of the loop, released last.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from django.conf import settings

from bot.fencing import Fence, fence_for
from bot.transport.base import SESSION_TRANSPORTS

logger = logging.getLogger(__name__)


class Ownership(Protocol):
    """Who may touch the session (the session lease): taken first, kept from the loop, released last."""

    def acquire(self, stop: threading.Event) -> bool: ...

    def keep(self) -> bool: ...

    def release(self) -> None: ...

    def fence(self) -> Fence | None:
        """What the child may hold the session on (None: nothing to fence, as for the console)."""
        ...

    @property
    def fencing(self) -> int | None:
        """The lease number our writes carry (kept after a loss: that is what makes them stale)."""
        ...

    @property
    def held(self) -> bool: ...


class NoOwnership:
    """For transports that never touch a WhatsApp session (console, test doubles)."""

    held = True

    def acquire(self, stop: threading.Event) -> bool:
        return True

    def keep(self) -> bool:
        return True

    def release(self) -> None:
        return None

    def fence(self) -> Fence | None:
        return None

    fencing = None


class LeaseOwnership:
    """The session lease of ``sessions_store.lease``: standby until taken, renewed by compare-and-set."""

    def __init__(self, *, session_name: str, ttl: float) -> None:
        self.session_name = session_name
        self.ttl = ttl
        self.lease: Any = None
        self.keeper: Any = None

    @property
    def held(self) -> bool:
        return self.keeper is not None and self.keeper.held

    @property
    def fencing(self) -> int | None:
        return None if self.lease is None else self.lease.fencing

    def acquire(self, stop: threading.Event) -> bool:
        from sessions_store.lease import lease_identity
        from sessions_store.lease_keeper import STANDBY_CHECK, lease_wait

        lease = lease_wait(
            session_name=self.session_name, ttl=self.ttl, check=STANDBY_CHECK, wait=stop.wait, **lease_identity()
        )
        if lease is None:
            return False
        self.hold(lease)
        return True

    def hold(self, lease: Any) -> None:
        """Keep ``lease`` (already taken) from now on: renewed every third of the TTL by the loop."""
        from sessions_store.lease_keeper import LeaseKeeper

        self.lease = lease
        interval = max(1.0, min(10.0, self.ttl / 3))
        self.keeper = LeaseKeeper(lease=lease, on_lost=lambda reason: None, interval=interval)

    def keep(self) -> bool:
        return self.keeper is None or self.keeper.step()

    def fence(self) -> Fence | None:
        """The child's deadline: ends a margin before the lease's own monotonic bound (``Lease.valid_until``)."""
        if self.lease is None or not self.held:
            return None
        return fence_for(fencing=self.lease.fencing, valid_until=self.lease.valid_until, ttl=self.ttl)

    def release(self) -> None:
        if self.lease is None or not self.held:
            return
        from sessions_store.lease import lease_release

        try:
            lease_release(lease=self.lease)
        except Exception:
            logger.exception("lease release failed", extra={"session": self.session_name})
        self.keeper = None


def ownership_for(*, session_name: str, transport: str) -> Ownership:
    if transport not in SESSION_TRANSPORTS:
        return NoOwnership()
    return LeaseOwnership(session_name=session_name, ttl=settings.LEASE_TTL)
