"""Events that are easy to misread, through the real neonize transport (real protobuf events, only the
dial stubbed): an outdated client, a StreamReplaced after our own takeover, a logout after a 515."""

from __future__ import annotations

import logging
import threading
from importlib import metadata

import pytest
from django.db import OperationalError

pytest.importorskip("neonize")

from neonize.events import ClientOutdatedEv, ConnectFailureEv  # noqa: E402
from neonize.proto import Neonize_pb2 as N  # noqa: E402

from bot.backoff import BackoffPolicy  # noqa: E402
from bot.child.connection import ConnectionMachine  # noqa: E402
from bot.child.runtime import BotRuntime  # noqa: E402
from bot.heartbeat import ChildExit  # noqa: E402
from bot.models import ConnectionEvent, ConnectionState  # noqa: E402
from ops.selectors.connection import state_label  # noqa: E402
from tests.bot.fixtures.neonize_events import deliver, stub_dial_transport  # noqa: E402
from tests.bot.test_supervisor_policy import Clock, attach, supervisor  # noqa: E402
from tests.support.routers import PingRouter  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def machine() -> ConnectionMachine:
    return ConnectionMachine(policy=BackoffPolicy(base=0.01, cap=0.05, max_attempts=3, jitter=lambda c: c))


def run(runtime: BotRuntime) -> tuple[threading.Thread, dict]:
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("code", runtime.run()), daemon=True)
    thread.start()
    return thread, out


def wait_for(predicate, timeout: float = 5.0) -> None:
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        try:
            if predicate():
                return
        except OperationalError:  # SQLite's shared in-memory test database: a table the runtime writes is locked
            pass
        pause.wait(0.01)
    raise AssertionError("condition not reached in time")


def connected(session: str) -> bool:
    return ConnectionEvent.objects.filter(session_name=session, to_state=ConnectionState.CONNECTED).exists()


@pytest.mark.parametrize(
    ("ev", "reason"),
    [
        (ClientOutdatedEv(), "client_outdated"),
        (
            ConnectFailureEv(Reason=N.ConnectFailureReason.CLIENT_OUTDATED, Message="405"),
            "connect_failure_client_outdated",
        ),
    ],
    ids=["ClientOutdated", "ConnectFailure405"],
)
def test_an_outdated_client_says_in_one_error_line_which_neonize_to_upgrade_and_never_reconnects(
    tmp_path, caplog, ev, reason
):
    caplog.set_level(logging.INFO)
    transport = stub_dial_transport(session_name="outdated", dsn=str(tmp_path / "never.sqlite3"))
    runtime = BotRuntime(transport=transport, session_name="outdated", router=PingRouter(), machine=machine())
    thread, out = run(runtime)
    wait_for(lambda: connected("outdated"))
    deliver(transport.client, ev)
    thread.join(10)
    assert out["code"] == ChildExit.TERMINAL
    assert transport.connects == 1  # no reconnect, no loop
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    version = metadata.version("neonize")
    assert f"neonize {version} must be upgraded" in errors[0]
    assert "pip install -U neonize" in errors[0] and "requirements.txt" in errors[0]
    last = ConnectionEvent.objects.filter(session_name="outdated").order_by("-at", "-pk").first()
    assert (last.to_state, last.reason, last.detail["neonize_version"]) == ("outdated", reason, version)
    label = state_label(state=last.to_state, reason=last.reason)
    assert "neonize is too old" in label and "pip install -U neonize" in label


def test_an_outdated_child_leaves_the_supervisor_idle_without_a_second_error_or_pairing_advice(caplog):
    clock = Clock()
    sup = supervisor(clock, transport="neonize")
    attach(sup, clock)
    sup.child.state = "outdated"
    caplog.set_level(logging.INFO, logger="bot.supervisor.loop")
    sup.on_child_exit(ChildExit.TERMINAL)
    assert sup.idle_reason == "outdated" and sup.child is None
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "bot.supervisor.loop"]
    assert (logging.WARNING, "not restarting until neonize is upgraded (the bot child's error says how)") in lines
    assert not [m for level, m in lines if level >= logging.ERROR]
    sup._next_start = clock()
    sup.start_child = lambda: pytest.fail("an outdated client is never restarted by itself")
    sup.step()
