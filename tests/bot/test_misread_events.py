"""Events that are easy to misread, through the real neonize transport (real protobuf events, only the
dial stubbed): an outdated client, a StreamReplaced after our own takeover, a logout after a 515."""

from __future__ import annotations

import logging
import threading
from importlib import metadata

import pytest
from django.db import OperationalError

pytest.importorskip("neonize")

from django.db.models import F  # noqa: E402
from neonize.events import (  # noqa: E402
    ClientOutdatedEv,
    ConnectedEv,
    ConnectFailureEv,
    DisconnectedEv,
    LoggedOutEv,
    StreamErrorEv,
    StreamReplacedEv,
)
from neonize.proto import Neonize_pb2 as N  # noqa: E402

from bot.backoff import BackoffPolicy  # noqa: E402
from bot.child.connection import ConnectionMachine  # noqa: E402
from bot.child.runtime import BotRuntime  # noqa: E402
from bot.child.session_hooks import SessionHooks  # noqa: E402
from bot.heartbeat import ChildExit  # noqa: E402
from bot.models import BotStatus, ConnectionEvent, ConnectionState  # noqa: E402
from ops.selectors.connection import state_label  # noqa: E402
from sessions_store.lease import lease_acquire, lease_identity  # noqa: E402
from sessions_store.models import SessionBackup, SessionLease, WhatsAppSession  # noqa: E402
from sessions_store.services import backup_create  # noqa: E402
from sessions_store.store import store_for  # noqa: E402
from tests.bot.fixtures.neonize_events import deliver, stub_dial_transport  # noqa: E402
from tests.bot.test_supervisor_policy import Clock, attach, supervisor  # noqa: E402
from tests.reliability.test_connection_script import _store_sql  # noqa: E402
from tests.sessions_store.factories import isolated_sessions, make_paired_store  # noqa: E402, F401
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


# -- a StreamReplaced, asked of the lease ----------------------------------------------------------------------
class Webhooks:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def notify(self, **event) -> bool:
        self.sent.append((event["to_state"], event["reason"]))
        return True


def leased_runtime(tmp_path, session: str, **hooks) -> tuple[BotRuntime, threading.Thread, dict, object]:
    lease = lease_acquire(session_name=session, ttl=60, **lease_identity())
    WhatsAppSession.objects.filter(name=session).update(status="paired")
    transport = stub_dial_transport(session_name=session, dsn=str(tmp_path / "never.sqlite3"))
    runtime = BotRuntime(transport=transport, session_name=session, router=PingRouter(), machine=machine(), **hooks)
    runtime.fencing = lease.fencing
    thread, out = run(runtime)
    wait_for(lambda: connected(session))
    return runtime, thread, out, transport


def test_a_stream_replaced_while_the_lease_is_ours_is_the_user_s_other_whatsapp_web_and_final(tmp_path):
    terminal: list = []
    hooks = SessionHooks(session_name="replaced")
    runtime, thread, out, transport = leased_runtime(
        tmp_path, "replaced", on_terminal=lambda d: (terminal.append(d), hooks.on_terminal(d))
    )
    deliver(transport.client, DisconnectedEv(status=True))  # our own reconnect, then the replacement
    deliver(transport.client, ConnectedEv(status=True))
    deliver(transport.client, StreamReplacedEv())
    thread.join(10)
    assert out["code"] == ChildExit.TERMINAL
    assert [d.state for d in terminal] == [ConnectionState.REPLACED]
    assert WhatsAppSession.objects.get(name="replaced").status == "replaced"
    assert BotStatus.objects.get(session_name="replaced").state == "replaced"


def test_a_stream_replaced_after_another_process_of_ours_took_the_lease_leaves_fenced_and_marks_nothing(
    tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    webhooks = Webhooks()
    terminal: list = []
    runtime, thread, out, transport = leased_runtime(
        tmp_path, "takeover", on_terminal=terminal.append, webhooks=webhooks
    )
    # another worker of ours took the lease over (the takeover's compare-and-set moves the fencing number)
    SessionLease.objects.filter(session__name="takeover").update(fencing=F("fencing") + 1, holder="standby")
    deliver(transport.client, StreamReplacedEv())
    thread.join(10)
    assert out["code"] == ChildExit.FENCED
    assert terminal == [] and not [w for w in webhooks.sent if w[0] == "replaced"]
    assert WhatsAppSession.objects.get(name="takeover").status == "paired"
    assert BotStatus.objects.get(session_name="takeover").state == "connected"  # the new owner's to write
    stopped = ConnectionEvent.objects.get(session_name="takeover", to_state="stopped")
    assert stopped.reason == "stream_replaced_lease_moved" and stopped.detail["stale_fencing"] == runtime.fencing
    assert not ConnectionEvent.objects.filter(session_name="takeover", to_state="replaced").exists()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_stream_replaced_without_a_lease_is_final_as_before(tmp_path):
    transport = stub_dial_transport(session_name="nolease", dsn=str(tmp_path / "never.sqlite3"))
    runtime = BotRuntime(transport=transport, session_name="nolease", router=PingRouter(), machine=machine())
    thread, out = run(runtime)
    wait_for(lambda: connected("nolease"))
    deliver(transport.client, StreamReplacedEv())
    thread.join(10)
    assert out["code"] == ChildExit.TERMINAL
    assert ConnectionEvent.objects.filter(session_name="nolease", to_state="replaced").exists()


# -- a logout right after a 515, confirmed before it counts ------------------------------------------------------
JID = "15551234567:12@s.whatsapp.net"
SESSION = "policy"  # the supervisor harness's session


def backup_facts() -> list[tuple]:
    return list(
        SessionBackup.objects.filter(session__name=SESSION)
        .order_by("pk")
        .values_list("pk", "state", "content_sha256", "created_at", "device_jid")
    )


def child(tmp_path, *, confirming: bool, on_connect: tuple = ()) -> tuple[BotRuntime, threading.Thread, dict, object]:
    transport = stub_dial_transport(session_name=SESSION, dsn=str(tmp_path / "never.sqlite3"), on_connect=on_connect)
    hooks = SessionHooks(session_name=SESSION)
    runtime = BotRuntime(
        transport=transport, session_name=SESSION, router=PingRouter(), machine=machine(), on_terminal=hooks.on_terminal
    )
    runtime.machine.confirming_logout = confirming  # what --confirm-logout sets (bot.child.main)
    thread, out = run(runtime)
    return runtime, thread, out, transport


def logout_after_515(tmp_path) -> tuple[list[tuple], object]:
    """A paired session with a verified backup; its child sees a 515, whatsmeow deletes the device and
    reports the logout. Returns the backups as they were, and the supervisor after that child's exit."""
    make_paired_store(SESSION, jid=JID)
    WhatsAppSession.objects.update_or_create(name=SESSION, defaults={"status": "paired"})
    assert backup_create(session_name=SESSION, reason="manual").state == "verified"
    before = backup_facts()
    runtime, thread, out, transport = child(tmp_path, confirming=False)
    wait_for(lambda: connected(SESSION))
    deliver(transport.client, StreamErrorEv(Code="515"))
    _store_sql(store_for(SESSION), "DELETE FROM whatsmeow_device")  # whatsmeow's Store.Delete on a logout
    deliver(transport.client, LoggedOutEv(OnConnect=True, Reason=N.ConnectFailureReason.LOGGED_OUT))
    thread.join(10)
    assert out["code"] == ChildExit.CONFIRM_LOGOUT
    assert WhatsAppSession.objects.get(name=SESSION).status == "paired"  # not marked: not certain yet
    assert not ConnectionEvent.objects.filter(session_name=SESSION, to_state="logged_out").exists()
    assert backup_facts() == before

    clock = Clock()
    sup = supervisor(clock, transport="neonize")
    del sup.restore  # the harness stubs it: here the real restore chain runs
    attach(sup, clock)
    sup.on_child_exit(ChildExit.CONFIRM_LOGOUT)
    assert store_for(SESSION).health().device_jid == JID  # the newest backup is back in place
    assert backup_facts() == before  # ...and left as it was
    assert sup._next_start == clock() and sup.idle_reason == "" and sup.budget.used == 0
    assert "--confirm-logout" in sup.child_command(9)
    assert "--confirm-logout" not in sup.child_command(9)  # one child confirms, the next is ordinary
    return before, sup


@pytest.mark.usefixtures("isolated_sessions")
def test_a_logout_right_after_a_515_is_confirmed_with_the_newest_backup_before_the_session_is_logged_out(tmp_path):
    before, _ = logout_after_515(tmp_path)
    # A real logout: WhatsApp refuses the restored device's dial the same way (401: LoggedOut on connect).
    refused = LoggedOutEv(OnConnect=True, Reason=N.ConnectFailureReason.LOGGED_OUT)
    runtime, thread, out, transport = child(tmp_path, confirming=True, on_connect=(refused,))
    thread.join(10)
    assert out["code"] == ChildExit.TERMINAL
    last = ConnectionEvent.objects.filter(session_name=SESSION, to_state="logged_out").get()
    assert last.detail["confirmed"] is True
    assert WhatsAppSession.objects.get(name=SESSION).status == "logged_out"
    assert backup_facts() == before  # a logout, certain now, still leaves the backups alone


@pytest.mark.usefixtures("isolated_sessions")
def test_a_false_logout_after_a_515_ends_in_a_connected_session_with_its_backup(tmp_path):
    before, _ = logout_after_515(tmp_path)
    runtime, thread, out, transport = child(tmp_path, confirming=True)
    wait_for(lambda: runtime.machine.state == ConnectionState.CONNECTED)
    runtime.request_stop()
    thread.join(10)
    assert out["code"] == ChildExit.DONE
    assert WhatsAppSession.objects.get(name=SESSION).status == "paired"
    assert not ConnectionEvent.objects.filter(session_name=SESSION, to_state="logged_out").exists()
    assert backup_facts() == before and store_for(SESSION).health().device_jid == JID
