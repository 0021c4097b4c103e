"""The restart policy: what the supervisor does when its bot child exits, as a pure function.

No clock, no process, no database: the facts of one exit in, one decision out, so every rule is a
row of ``tests/bot/test_restart_policy.py``. The supervisor carries the decision out (budget,
back-off, events); whether the budget is spent is the caller's state, not a rule here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from bot.heartbeat import ChildExit


class Verdict(StrEnum):
    STOPPED = "stopped"  # we are shutting down: nothing more to do
    RESTART_NOW = "restart_now"  # we stopped it on purpose (control action, fresh QR, lease): start again at once
    FINISHED = "finished"  # a transport without a session ran out of input: the worker is done
    IDLE = "idle"  # the WhatsApp connection ended for good: wait for an operator, never loop
    USAGE = "usage"  # the child refused its arguments: restarting cannot help
    ONCE_ENDED = "once_ended"  # --run-once: report and stop
    RESTART = "restart"  # a failure: restart after a back-off, within the budget when ``budgeted``
    CONFIRM_LOGOUT = "confirm_logout"  # a logout right after a 515: restore, then one child that confirms it


@dataclass(frozen=True)
class ExitFacts:
    code: int
    kill_reason: str = ""  # why the supervisor stopped it, when it did ("hung", "qr_timeout", ...)
    planned: bool = False  # a stop the supervisor asked for
    stopping: bool = False  # the supervisor itself is shutting down
    uses_session: bool = True
    run_once: bool = False
    database_down: bool = False  # the supervisor saw the database away when the child ended


@dataclass(frozen=True)
class ExitDecision:
    verdict: Verdict
    reason: str = ""
    budgeted: bool = False  # spends the crash-loop budget
    exit_code: int | None = None  # the worker's exit code, when the decision sets one


def reason_for(facts: ExitFacts) -> str:
    """The reason a failed child is restarted for, as recorded in events and logs."""
    if facts.code == ChildExit.DONE and not facts.kill_reason:
        return "exited"
    if facts.code == ChildExit.FRESH:
        return "reconnect_exhausted"
    if facts.code == ChildExit.MEMORY:
        return "memory"
    if facts.code == ChildExit.DEAF:
        return "deaf"
    return facts.kill_reason or "crash"


def decide_exit(facts: ExitFacts) -> ExitDecision:
    """One child exit -> what to do next."""
    if facts.planned:
        return ExitDecision(Verdict.RESTART_NOW, reason=facts.kill_reason)
    if facts.stopping:
        return ExitDecision(Verdict.STOPPED)
    if facts.code == ChildExit.DONE and not facts.kill_reason and not facts.uses_session:
        return ExitDecision(Verdict.FINISHED)
    if facts.code == ChildExit.TERMINAL:
        return ExitDecision(Verdict.IDLE, reason="terminal")
    if facts.code == ChildExit.USAGE:
        return ExitDecision(Verdict.USAGE, exit_code=ChildExit.USAGE)
    if facts.code == ChildExit.FENCED:
        # Our lease proof ran out before we renewed it (we were paused or the database was away). Not a
        # crash: the lease, checked before any start, says whether this worker may run the session again.
        return ExitDecision(Verdict.RESTART_NOW, reason="fenced")
    if facts.code == ChildExit.CONFIRM_LOGOUT and not facts.run_once:
        # Not final yet, and no crash: the newest backup goes back in and one child reconnects to see.
        return ExitDecision(Verdict.CONFIRM_LOGOUT, reason="logout_unconfirmed")
    reason = reason_for(facts)
    if facts.run_once:
        return ExitDecision(Verdict.ONCE_ENDED, reason=reason, exit_code=0 if facts.code == 0 else 1)
    # A child that died or hung while the database was away is a casualty of the outage (a write that
    # hung, a thread that waited), not a crash loop: restarted without spending the budget, for as
    # long as the outage lasts. Memory restarts still count: a buffer that grows is ours to fix.
    if facts.database_down and reason in {"crash", "hung", "exited"}:
        return ExitDecision(Verdict.RESTART, reason="database_outage", budgeted=False)
    # A child that used up its reconnect attempts did not crash: the network is away. It gets a fresh
    # child after a growing, capped delay for as long as the outage lasts; only crashes, hangs and
    # memory restarts spend the budget that stops a crash loop.
    # Like exhausted reconnects, a deaf connection is WhatsApp's side (or the network's), not a crash
    # loop; the supervisor counts deaf restarts in a row and stops asking for them (DEAF_RESTARTS).
    return ExitDecision(Verdict.RESTART, reason=reason, budgeted=reason not in {"reconnect_exhausted", "deaf"})


def idle_line(state: str) -> tuple[int, str]:
    """The level and words of the supervisor's line when a child ended for good in ``state``.

    An outdated client is no pairing matter: the child's one ERROR line said what to upgrade, so
    this one only says why nothing restarts (a restart would be refused the same way).
    """
    if state == "outdated":
        return logging.WARNING, "not restarting until neonize is upgraded (the bot child's error says how)"
    return logging.ERROR, (
        "the WhatsApp connection ended for good (logged out or replaced); not restarting. "
        "Pair again from the pairing page or ask for a fresh QR."
    )
