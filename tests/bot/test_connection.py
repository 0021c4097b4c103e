"""The connection state machine: every event and reason -> next state and action (a table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.backoff import BackoffPolicy
from bot.child.connection import Action, ConnectionMachine, connect_error_line, connect_error_reason
from bot.models import ConnectionState as S
from bot.transport.base import ConnectionSignal

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def machine(state: S = S.CONNECTED, *, max_attempts: int = 5) -> ConnectionMachine:
    policy = BackoffPolicy(base=1.0, cap=30.0, max_attempts=max_attempts, jitter=lambda ceiling: ceiling)
    return ConnectionMachine(policy=policy, clock=Clock(), state=state)


def sig(kind: str, reason: str = "", **detail: object) -> ConnectionSignal:
    return ConnectionSignal(kind=kind, reason=reason, detail=detail)


TABLE = [
    # (state before, event, reason, state after, action)
    (S.CONNECTING, "connected", "", S.CONNECTED, Action.NONE),
    (S.PAIRING, "connected", "", S.CONNECTED, Action.NONE),
    (S.CONNECTED, "disconnected", "", S.RECONNECTING, Action.AWAIT),
    (S.CONNECTED, "keepalive_timeout", "", S.RECONNECTING, Action.AWAIT),
    (S.RECONNECTING, "keepalive_restored", "", S.CONNECTED, Action.NONE),
    (S.CONNECTED, "keepalive_restored", "", S.CONNECTED, Action.NONE),
    (S.CONNECTED, "logged_out", "logged_out", S.LOGGED_OUT, Action.STOP),
    (S.CONNECTING, "logged_out", "main_device_gone", S.LOGGED_OUT, Action.STOP),
    (S.CONNECTED, "stream_replaced", "", S.CONNECTED, Action.CHECK_LEASE),  # asked of the lease first
    (S.CONNECTED, "client_outdated", "", S.OUTDATED, Action.STOP),
    (S.CONNECTED, "temporary_ban", "send_to_too_many_people", S.BANNED, Action.WAIT_UNTIL),
    (S.CONNECTING, "connect_failure", "logged_out", S.LOGGED_OUT, Action.STOP),
    (S.CONNECTING, "connect_failure", "main_device_gone", S.LOGGED_OUT, Action.STOP),
    (S.CONNECTING, "connect_failure", "unknown_logout", S.LOGGED_OUT, Action.STOP),
    (S.CONNECTING, "connect_failure", "client_outdated", S.OUTDATED, Action.STOP),
    (S.CONNECTING, "connect_failure", "bad_user_agent", S.OUTDATED, Action.STOP),
    (S.CONNECTING, "connect_failure", "temp_banned", S.BANNED, Action.WAIT_UNTIL),
    (S.CONNECTING, "connect_failure", "internal_server_error", S.RECONNECTING, Action.AWAIT),
    (S.CONNECTING, "connect_failure", "service_unavailable", S.RECONNECTING, Action.AWAIT),
    (S.CONNECTING, "connect_failure", "generic", S.RECONNECTING, Action.RETRY),
    (S.CONNECTING, "connect_failure", "experimental", S.RECONNECTING, Action.RETRY),
    (S.CONNECTED, "stream_error", "515", S.RECONNECTING, Action.AWAIT),
    (S.CONNECTING, "connect_error", "dial", S.RECONNECTING, Action.RETRY),
    (S.CONNECTING, "qr", "", S.PAIRING, Action.SHOW_QR),
    (S.CONNECTING, "pair_code", "", S.PAIRING, Action.SHOW_QR),
    (S.PAIRING, "qr", "", S.PAIRING, Action.SHOW_QR),
    (S.PAIRING, "pair_success", "", S.PAIRING, Action.PAIRED),
    (S.PAIRING, "pair_error", "", S.PAIRING, Action.NONE),
    (S.CONNECTED, "something_new", "", S.CONNECTED, Action.NONE),
    # terminal states ignore everything
    (S.LOGGED_OUT, "connected", "", S.LOGGED_OUT, Action.NONE),
    (S.REPLACED, "disconnected", "", S.REPLACED, Action.NONE),
    (S.OUTDATED, "connect_error", "", S.OUTDATED, Action.NONE),
    (S.STOPPED, "qr", "", S.STOPPED, Action.NONE),
]


@pytest.mark.parametrize(("before", "kind", "reason", "after", "action"), TABLE)
def test_each_event_and_reason_leads_to_its_state_and_action(before, kind, reason, after, action):
    m = machine(before)
    decision = m.handle(sig(kind, reason))
    assert (decision.previous, decision.state, decision.action) == (before, after, action)
    assert m.state == after


def test_terminal_events_alert_and_network_outages_do_not():
    assert machine().handle(sig("logged_out")).alert
    assert machine().handle(sig("stream_replaced", lease="ours")).alert
    assert machine().handle(sig("temporary_ban", expire_seconds=60)).alert
    assert not machine().handle(sig("disconnected")).alert
    assert not machine(S.CONNECTING).handle(sig("connect_error")).alert


def test_failed_dials_back_off_exponentially_up_to_the_cap_then_ask_for_a_fresh_child():
    m = machine(S.CONNECTING, max_attempts=7)
    decisions = [m.handle(sig("connect_error", "dial")) for _ in range(8)]
    assert [d.delay for d in decisions[:7]] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert [d.attempt for d in decisions[:7]] == [1, 2, 3, 4, 5, 6, 7]
    assert decisions[0].closes_attempt == ""
    assert all(d.closes_attempt == "failed" for d in decisions[1:7])
    assert decisions[7].action == Action.FRESH_CHILD
    assert decisions[7].closes_attempt == "failed"
    assert m.state == S.RECONNECTING


def test_full_jitter_keeps_each_delay_between_zero_and_its_ceiling():
    policy = BackoffPolicy(base=0.5, cap=10.0, max_attempts=50)
    for attempt in range(1, 40):
        delay = policy.delay(attempt)
        assert 0.0 <= delay <= policy.ceiling(attempt) <= 10.0


def test_a_success_closes_the_open_attempt_and_resets_the_failure_count():
    m = machine(S.CONNECTING, max_attempts=2)
    m.handle(sig("connect_error"))
    m.handle(sig("connect_error"))
    ok = m.handle(sig("connected"))
    assert ok.closes_attempt == "succeeded"
    assert m.failures == 0
    again = m.handle(sig("disconnected"))
    assert (again.action, again.attempt) == (Action.AWAIT, 1)


def test_repeated_disconnects_without_a_connection_end_in_a_fresh_child():
    m = machine(max_attempts=2)
    actions = [m.handle(sig("disconnected")).action for _ in range(3)]
    assert actions == [Action.AWAIT, Action.AWAIT, Action.FRESH_CHILD]


def test_a_temporary_ban_waits_until_its_expiry():
    m = machine()
    decision = m.handle(sig("temporary_ban", "blocked_by_users", expire_seconds=3600))
    assert decision.until == T0 + timedelta(seconds=3600)
    assert decision.delay == 3600


def test_a_state_change_moves_since_and_a_repeat_does_not():
    clock = Clock()
    m = ConnectionMachine(policy=BackoffPolicy(jitter=lambda c: c), clock=clock, state=S.CONNECTING)
    clock.now = T0 + timedelta(seconds=5)
    assert m.handle(sig("qr")).changed
    assert m.since == T0 + timedelta(seconds=5)
    clock.now = T0 + timedelta(seconds=25)
    assert not m.handle(sig("qr")).changed
    assert m.since == T0 + timedelta(seconds=5)


def test_begin_records_lifecycle_steps():
    m = machine(S.STARTING)
    assert m.begin(S.RESTORING).state == S.RESTORING
    d = m.begin(S.CONNECTING, reason="restored_from_backup")
    assert (d.previous, d.state, d.reason) == (S.RESTORING, S.CONNECTING, "restored_from_backup")


DIAL_DNS = (
    "failed to dial whatsapp web websocket: failed to WebSocket dial: failed to send handshake request: Get "
    '"https://web.whatsapp.com/ws/chat": dial tcp: lookup web.whatsapp.com on 10.255.255.53:53: no such host'
)


@pytest.mark.parametrize(
    ("reason", "error", "expected"),
    [
        ("TransportError", DIAL_DNS, "whatsapp_unreachable"),
        (
            "TransportError",
            "proxyconnect tcp: dial tcp 127.0.0.1:9: connect: connection refused",
            "whatsapp_unreachable",
        ),
        ("TransportError", "websocket: read tcp: i/o timeout", "whatsapp_unreachable"),
        ("TransportError", "failed to upgrade database: unable to open database file", "TransportError"),
        ("connect_returned", "", "connect_returned"),
        ("", "", "connect_error"),
    ],
)
def test_a_failed_dial_is_told_apart_from_other_connect_errors(reason, error, expected):
    assert connect_error_reason(reason=reason, error=error) == expected


def test_an_unreachable_whatsapp_is_said_in_words_with_the_error_and_the_wait():
    m = machine(S.CONNECTING, max_attempts=2)
    first = m.handle(sig("connect_error", "TransportError", error=DIAL_DNS))
    assert (first.state, first.reason, first.detail["error"]) == (S.RECONNECTING, "whatsapp_unreachable", DIAL_DNS)
    assert connect_error_line(first, error="no such host", attempts=0) == (
        "cannot reach WhatsApp (no such host), retrying in 1.0 s"
    )
    m.handle(sig("connect_error", "TransportError", error=DIAL_DNS))
    last = m.handle(sig("connect_error", "TransportError", error=DIAL_DNS))
    assert connect_error_line(last, error="no such host", attempts=2) == (
        "cannot reach WhatsApp (no such host), giving up after 2 attempts in a row; a fresh bot child takes over"
    )
    store = m.handle(sig("connect_error", "TransportError", error="failed to upgrade database"))
    assert connect_error_line(store, error="failed to upgrade database", attempts=0).startswith(
        "connect failed: TransportError (failed to upgrade database)"
    )


# -- misread events: a StreamReplaced asked of the lease, a logout right after a 515 --------------------------
SEQUENCES = [
    # (events as (seconds later, kind, reason, detail), confirming child?, the last decision's state and action)
    ([(0, "stream_replaced", "", {"lease": "ours"})], False, S.REPLACED, Action.STOP),
    ([(0, "stream_replaced", "", {"lease": "moved"})], False, S.STOPPED, Action.FENCED),
    ([(0, "stream_replaced", "", {"lease": "unknown"})], False, S.STOPPED, Action.FENCED),
    (
        [(0, "disconnected", "", {}), (3, "connected", "", {}), (1, "stream_replaced", "", {})],
        False,
        S.CONNECTED,
        Action.CHECK_LEASE,
    ),
    (
        [(0, "stream_error", "515", {}), (4, "logged_out", "logged_out", {})],
        False,
        S.RECONNECTING,
        Action.CONFIRM_LOGOUT,
    ),
    (
        [(0, "stream_error", "515", {}), (4, "connect_failure", "logged_out", {})],
        False,
        S.RECONNECTING,
        Action.CONFIRM_LOGOUT,
    ),
    (
        [(0, "stream_error", "515", {}), (2, "connected", "", {}), (60, "logged_out", "", {})],
        False,
        S.RECONNECTING,
        Action.CONFIRM_LOGOUT,
    ),
    ([(0, "stream_error", "515", {}), (121, "logged_out", "logged_out", {})], False, S.LOGGED_OUT, Action.STOP),
    ([(0, "stream_error", "503", {}), (4, "logged_out", "logged_out", {})], False, S.LOGGED_OUT, Action.STOP),
    ([(0, "logged_out", "logged_out", {})], False, S.LOGGED_OUT, Action.STOP),
    # the confirming child: a logout is final there, and a QR means there was nothing to reconnect with
    ([(0, "stream_error", "515", {}), (4, "logged_out", "logged_out", {})], True, S.LOGGED_OUT, Action.STOP),
    ([(0, "qr", "", {})], True, S.LOGGED_OUT, Action.STOP),
    # ...until it connects: then it is an ordinary child again
    (
        [(0, "connected", "", {}), (5, "stream_error", "515", {}), (4, "logged_out", "", {})],
        True,
        S.RECONNECTING,
        Action.CONFIRM_LOGOUT,
    ),
]


@pytest.mark.parametrize(("events", "confirming", "state", "action"), SEQUENCES)
def test_misreadable_sequences_end_in_their_state_and_action(events, confirming, state, action):
    clock = Clock()
    policy = BackoffPolicy(base=1.0, cap=30.0, max_attempts=5, jitter=lambda ceiling: ceiling)
    m = ConnectionMachine(policy=policy, clock=clock, state=S.CONNECTED, confirming_logout=confirming)
    for seconds, kind, reason, detail in events:
        clock.now += timedelta(seconds=seconds)
        decision = m.handle(sig(kind, reason, **detail))
    assert (decision.state, decision.action) == (state, action)


def test_an_unconfirmed_logout_closes_the_515_s_attempt_and_says_what_it_was():
    m = machine()
    m.handle(sig("stream_error", "515"))
    decision = m.handle(sig("logged_out", "logged_out", on_connect=True))
    assert (decision.reason, decision.closes_attempt, decision.alert) == ("logout_unconfirmed", "failed", False)
    assert decision.detail["logout_reason"] == "logged_out_logged_out"
    confirming = ConnectionMachine(policy=BackoffPolicy(), clock=Clock(), state=S.CONNECTING, confirming_logout=True)
    final = confirming.handle(sig("logged_out", "logged_out"))
    assert (final.reason, final.detail["confirmed"], final.alert) == ("logged_out_logged_out", True, True)
