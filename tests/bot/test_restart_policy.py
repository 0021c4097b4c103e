"""The restart policy as a table: one row per rule, facts of a child exit -> the supervisor's verdict."""

from __future__ import annotations

import pytest

from bot.heartbeat import ChildExit
from bot.supervisor.policy import ExitDecision, ExitFacts, Verdict, decide_exit

CRASH = 1
KILLED = -9

ROWS = [
    # planned stops win over everything, shutdown included: start again at once, no budget
    (ExitFacts(code=KILLED, kill_reason="refresh_qr", planned=True), ExitDecision(Verdict.RESTART_NOW, "refresh_qr")),
    (ExitFacts(code=0, kill_reason="lease_lost", planned=True, stopping=True), ExitDecision(Verdict.RESTART_NOW, "lease_lost")),
    # the supervisor is stopping: nothing more
    (ExitFacts(code=CRASH, stopping=True), ExitDecision(Verdict.STOPPED)),
    # a console child ran out of input: the worker is done; a session child that exits 0 is restarted
    (ExitFacts(code=ChildExit.DONE, uses_session=False), ExitDecision(Verdict.FINISHED)),
    (ExitFacts(code=ChildExit.DONE), ExitDecision(Verdict.RESTART, "exited", budgeted=True)),
    # logged out / replaced: idle until an operator acts; bad arguments: give up with USAGE
    (ExitFacts(code=ChildExit.TERMINAL), ExitDecision(Verdict.IDLE, "terminal")),
    (ExitFacts(code=ChildExit.USAGE), ExitDecision(Verdict.USAGE, exit_code=ChildExit.USAGE)),
    # the child fenced itself (our lease proof ran out): no budget; the lease decides at the next start
    (ExitFacts(code=ChildExit.FENCED), ExitDecision(Verdict.RESTART_NOW, "fenced")),
    (ExitFacts(code=ChildExit.FENCED, stopping=True), ExitDecision(Verdict.STOPPED)),
    # a logout right after a 515: not final; restore and reconnect once (no budget, no back-off)
    (ExitFacts(code=ChildExit.CONFIRM_LOGOUT), ExitDecision(Verdict.CONFIRM_LOGOUT, "logout_unconfirmed")),
    (ExitFacts(code=ChildExit.CONFIRM_LOGOUT, database_down=True), ExitDecision(Verdict.CONFIRM_LOGOUT, "logout_unconfirmed")),
    (ExitFacts(code=ChildExit.CONFIRM_LOGOUT, stopping=True), ExitDecision(Verdict.STOPPED)),
    # failures: restarted after a back-off; only a network outage spares the crash-loop budget
    (ExitFacts(code=ChildExit.FRESH), ExitDecision(Verdict.RESTART, "reconnect_exhausted", budgeted=False)),
    (ExitFacts(code=ChildExit.MEMORY), ExitDecision(Verdict.RESTART, "memory", budgeted=True)),
    (ExitFacts(code=ChildExit.DEAF), ExitDecision(Verdict.RESTART, "deaf", budgeted=False)),
    (ExitFacts(code=KILLED, kill_reason="hung"), ExitDecision(Verdict.RESTART, "hung", budgeted=True)),
    (ExitFacts(code=CRASH), ExitDecision(Verdict.RESTART, "crash", budgeted=True)),
    # the database was away: an outage, not a crash loop; memory still counts, the rest as before
    (ExitFacts(code=CRASH, database_down=True), ExitDecision(Verdict.RESTART, "database_outage", budgeted=False)),
    (ExitFacts(code=KILLED, kill_reason="hung", database_down=True), ExitDecision(Verdict.RESTART, "database_outage")),
    (ExitFacts(code=ChildExit.DONE, database_down=True), ExitDecision(Verdict.RESTART, "database_outage")),
    (ExitFacts(code=ChildExit.MEMORY, database_down=True), ExitDecision(Verdict.RESTART, "memory", budgeted=True)),
    (ExitFacts(code=ChildExit.FRESH, database_down=True), ExitDecision(Verdict.RESTART, "reconnect_exhausted")),
    (ExitFacts(code=ChildExit.TERMINAL, database_down=True), ExitDecision(Verdict.IDLE, "terminal")),
    (ExitFacts(code=CRASH, stopping=True, database_down=True), ExitDecision(Verdict.STOPPED)),
    (ExitFacts(code=CRASH, run_once=True, database_down=True), ExitDecision(Verdict.ONCE_ENDED, "crash", exit_code=1)),
    # --run-once reports the outcome and stops
    (ExitFacts(code=CRASH, run_once=True), ExitDecision(Verdict.ONCE_ENDED, "crash", exit_code=1)),
    (ExitFacts(code=0, run_once=True), ExitDecision(Verdict.ONCE_ENDED, "exited", exit_code=0)),
    (ExitFacts(code=ChildExit.TERMINAL, run_once=True), ExitDecision(Verdict.IDLE, "terminal")),
]


@pytest.mark.parametrize(("facts", "expected"), ROWS, ids=[f"{f.code}-{f.kill_reason or '-'}-{e.verdict}" for f, e in ROWS])
def test_restart_policy(facts: ExitFacts, expected: ExitDecision) -> None:
    assert decide_exit(facts) == expected
