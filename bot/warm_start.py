"""The supervisor -> pre-warmed child order: one JSON line that turns a waiting child into a session's child.

Imported by the supervisor (writes) and the bot child (reads). A hot standby starts its bot child
before it holds the lease (``STANDBY_PREWARM``), so that a takeover costs only the store check and
the dial, not a Python start, Django's setup and neonize's import. The rules:

- A pre-warmed child (``runbot --child --warm-fd N``) sets Django up and imports its transport's
  modules, and touches nothing else: no database query, no live store, no dial. It does not own the
  session: it waits for one :class:`Go` line on this pipe and nothing else moves it.
- The line names the session and says what a fresh child's command line would have said (the lease's
  fencing number, a phone to pair with, a logout to confirm, whether a deaf connection restarts).
- The line is no lease proof. A child that was told to go waits for its first fence on the fence pipe
  (:mod:`bot.fencing`) and checks it exactly like a child started cold, and a fence for another
  fencing number than the line's makes it refuse.
- The supervisor's end closing (it died, or chose to start a child cold) or a change of parent (a
  SIGKILLed supervisor re-parents us; a process it forked may still hold the pipe open) ends the
  waiting child at once with nothing touched. A paused supervisor (SIGSTOP) sends nothing, so its
  child goes on waiting and never connects.
- A process that imported neonize must never fork: the waiting child forks nothing.
"""

from __future__ import annotations

import json
import logging
import os
import select
from collections.abc import Callable
from dataclasses import asdict, dataclass

logger = logging.getLogger(__name__)

PARENT_CHECK_SECONDS = 1.0  # how often a waiting child checks that its supervisor is still its parent
MAX_LINE = 4096


@dataclass(frozen=True)
class Go:
    session_name: str
    fencing: int | None = None
    pair_phone: str = ""
    confirm_logout: bool = False
    deaf_restarts: bool = True

    def encode(self) -> bytes:
        return (json.dumps(asdict(self), separators=(",", ":")) + "\n").encode()

    @classmethod
    def decode(cls, line: bytes) -> Go:
        data = json.loads(line)
        fencing = data.get("fencing")
        return cls(
            session_name=str(data["session_name"]),
            fencing=None if fencing is None else int(fencing),
            pair_phone=str(data.get("pair_phone", "")),
            confirm_logout=bool(data.get("confirm_logout", False)),
            deaf_restarts=bool(data.get("deaf_restarts", True)),
        )


class GoWriter:
    """Supervisor side: one order, once; a child that is gone (broken pipe) is reported, never raised."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.sent = False

    def send(self, go: Go) -> bool:
        if self.sent:
            return False
        try:
            os.write(self.fd, go.encode())  # one short line: atomic on a pipe
        except OSError:
            return False
        self.sent = True
        return True

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def go_wait(
    fd: int,
    *,
    parent: int,
    getppid: Callable[[], int] = os.getppid,
    check_every: float = PARENT_CHECK_SECONDS,
) -> Go | None:
    """Child side: block until the supervisor's order; None when it is gone or sends something unreadable.

    ``parent`` is the supervisor's pid as seen at start: once ``getppid()`` says otherwise the
    supervisor died, whoever still holds the pipe open.
    """
    buffer = b""
    try:
        while True:
            if getppid() != parent:
                logger.info("pre-warmed child: the supervisor is gone; leaving", extra={"supervisor_pid": parent})
                return None
            ready, _, _ = select.select([fd], [], [], check_every)
            if not ready:
                continue
            chunk = os.read(fd, MAX_LINE)
            if not chunk:
                return None  # the supervisor closed its end: no order will come
            buffer += chunk
            if b"\n" in buffer:
                line = buffer.split(b"\n", 1)[0]
                try:
                    return Go.decode(line)
                except (ValueError, KeyError, TypeError):
                    logger.error("pre-warmed child: unreadable order; leaving", extra={"length": len(line)})
                    return None
            if len(buffer) > MAX_LINE:
                logger.error("pre-warmed child: order too long; leaving", extra={"length": len(buffer)})
                return None
    except OSError:
        return None
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
