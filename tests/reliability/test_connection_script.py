"""1,000 scripted connection events with random reasons and timings through the ConnectionMachine.

A seeded script plays whatsmeow and the host around real parts: each bot child gets a fresh
``ConnectionMachine`` (hand clock, seeded full jitter); each child start runs the supervisor's
``session_restore_chain`` on a real store; a terminal decision runs the child's ``on_terminal`` session hook
and a pairing its ``on_paired`` hook. The world reacts as whatsmeow does: a logout deletes the
device rows, a QR is shown only by an unpaired store, a host restart may wipe the disk. Checked on
every decision:

- backoff: a retry's delay lies in [0, min(cap, base * 2**(attempt-1))], attempts count the failures
  in a row, a fresh child is asked for only past ``max_attempts``; a ban waits its expiry;
- logged out and replaced are never retried: the decision is STOP and every later event of that
  child is ignored; the next child starts only after an operator acts;
- misread events: a StreamReplaced is asked of the lease first (ours: replaced for good; another
  process of ours took it: the child leaves fenced, the session untouched); a logout within two
  minutes of a 515 is not final: the next child, after the restore chain put the newest backup
  back, confirms it (a refused dial: logged out for good; a connection: it was false);
- pairing happens only when the store is not paired: the restore chain asks for it exactly when the
  store holds no device, and a QR is acted on only in such a child; a network outage never changes
  the paired device.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from psycopg import sql

from bot.backoff import BackoffPolicy
from bot.child.connection import LOGOUT_CONFIRM_WINDOW, MAX_BAN_SECONDS, TERMINAL_STATES, Action, ConnectionMachine
from bot.child.session_hooks import SessionHooks
from bot.models import ConnectionState as State
from bot.transport.base import ConnectionSignal
from sessions_store.services import backup_create, session_restore_chain
from sessions_store.store import SqliteStore, pg_connect, store_for
from tests.sessions_store.factories import device_rows, make_empty_store, make_paired_store, store_insert

pytestmark = pytest.mark.django_db

EVENTS = 1000
SESSION = "script"
CONNECT_FAILURE_REASONS = [
    "generic",
    "logged_out",
    "temp_banned",
    "main_device_gone",
    "unknown_logout",
    "client_outdated",
    "bad_user_agent",
    "internal_server_error",
    "experimental",
    "service_unavailable",
    "reason_77",  # what translate_signal makes of a reason neonize does not know
]
BAN_CODES = ["send_to_too_many_people", "blocked_by_users", "created_too_many_groups", "code_9"]
STREAM_CODES = ["515", "503", "401", "xml-not-well-formed", ""]
LOGOUT_REASONS = {"logged_out", "main_device_gone", "unknown_logout"}
OUTDATED_REASONS = {"client_outdated", "bad_user_agent"}
SERVER_REASONS = {"internal_server_error", "service_unavailable"}
# Outage and informational events, with how often the script sends them.
OUTAGES = {
    "connected": 14,
    "disconnected": 14,
    "keepalive_timeout": 9,
    "keepalive_restored": 7,
    "connect_error": 16,
    "connect_failure": 12,
    "stream_error": 6,
    "temporary_ban": 2,
    "history_sync": 2,  # a kind the machine does not know: informational
}
TERMINAL = {"logged_out": 1, "stream_replaced": 1, "client_outdated": 0.5}
RESTART_THEN_LOGOUT = 0.7  # how often the script plays a 515 followed within seconds by a logout
LEASE_MOVED = 0.3  # of the StreamReplaced, how many come from another process of ours that took the lease
FALSE_LOGOUT = 0.5  # of the logouts after a 515, how many the confirming reconnect proves false


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Tally:
    events: int = 0
    children: int = 0
    retries: int = 0
    awaits: int = 0
    fresh_children: int = 0
    bans: int = 0
    stops: Counter = field(default_factory=Counter)
    ignored_after_stop: int = 0
    qr_shown: int = 0
    pairings: int = 0
    restores: Counter = field(default_factory=Counter)
    wipes: int = 0
    lease_checks: Counter = field(default_factory=Counter)
    confirms: int = 0
    confirm_outcomes: Counter = field(default_factory=Counter)
    max_delay_ratio: float = 0.0
    delay_ratios: list[float] = field(default_factory=list)
    capped: int = 0


def _signal(rng: random.Random, kind: str) -> ConnectionSignal:
    if kind == "connect_failure":
        # Mostly reasons that are retried; the ones that end the session (or ban it) one time in eight.
        ending = [r for r in CONNECT_FAILURE_REASONS if r in LOGOUT_REASONS | OUTDATED_REASONS | {"temp_banned"}]
        pool = ending if rng.random() < 0.125 else [r for r in CONNECT_FAILURE_REASONS if r not in ending]
        return ConnectionSignal(kind=kind, reason=rng.choice(pool), detail={"message": "x"})
    if kind == "connect_error":
        return ConnectionSignal(kind=kind, reason=rng.choice(["TransportError", "connect_returned"]))
    if kind == "stream_error":
        return ConnectionSignal(kind=kind, reason=rng.choice(STREAM_CODES))
    if kind == "temporary_ban":
        expire = rng.choice([0, rng.randrange(60, 7 * 86400), -rng.randrange(1, 10**6), rng.randrange(2**40, 2**62)])
        return ConnectionSignal(kind=kind, reason=rng.choice(BAN_CODES), detail={"expire_seconds": expire})
    if kind == "logged_out":
        return ConnectionSignal(kind=kind, reason=rng.choice(sorted(LOGOUT_REASONS)), detail={"on_connect": False})
    if kind == "keepalive_timeout":
        return ConnectionSignal(kind=kind, detail={"error_count": rng.randrange(1, 9), "last_success": 0})
    if kind == "pair_error":
        return ConnectionSignal(kind=kind, reason="pair_error", detail={"error": "scan timed out"})
    return ConnectionSignal(kind=kind)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _store_sql(store, statement: str) -> None:
    """One statement in the live store, foreign keys on (as whatsmeow runs it)."""
    if isinstance(store, SqliteStore):
        conn = sqlite3.connect(store.path)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
        return
    with pg_connect() as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(store.schema)))
        conn.execute(statement)


class World:
    """whatsmeow and the host as the script plays them, around the real store and database."""

    def __init__(self, rng: random.Random, policy: BackoffPolicy, tally: Tally) -> None:
        self.rng, self.policy, self.tally = rng, policy, tally
        self.clock = Clock()
        self.jid = "15551234567:12@s.whatsapp.net"
        self.pairs = 0
        self.expect_paired = True  # what the store must hold now, checked against it at each child start
        self.confirming = False  # the next child confirms a logout seen right after a 515
        self.restart_required_at: datetime | None = None  # the current child's last 515
        make_paired_store(SESSION, jid=self.jid)
        backup_create(session_name=SESSION, reason="manual")

    def paired(self) -> bool:
        health = store_for(SESSION).health()
        return health.healthy and health.device_jid == self.jid

    def wipe_disk(self) -> None:
        """An ephemeral host restarted: the live store is gone (the database with the backups stays)."""
        store = store_for(SESSION)
        if isinstance(store, SqliteStore):
            shutil.rmtree(store.directory, ignore_errors=True)
        else:
            store.wipe()
        self.tally.wipes += 1
        self.expect_paired = False

    def logout(self) -> None:
        """whatsmeow deletes the device on a logout (its rows cascade): the store keeps its tables."""
        _store_sql(store_for(SESSION), "DELETE FROM whatsmeow_device")
        self.expect_paired = False

    def pair(self) -> ConnectionSignal:
        """Someone scanned the QR: whatsmeow writes a new device into its store (creating the
        tables on a wiped disk); PairStatus SUCCESS follows."""
        self.pairs += 1
        self.jid = f"1555123{self.pairs:04d}:{self.pairs % 90 + 10}@s.whatsapp.net"
        store = store_for(SESSION)
        if store.health().status == "missing":
            store = make_empty_store(SESSION)
        store_insert(store, device_rows(self.jid, random.Random(self.pairs)))
        return ConnectionSignal(kind="pair_success", detail={"jid": self.jid, "business_name": "", "platform": "x"})

    # -- one child ----------------------------------------------------------------------------------
    def start_child(self) -> bool:
        """What the supervisor does before each child: the restore chain. Returns whether it must pair.

        The previous child's events (outages, bans, retries, fresh children) touched nothing: a store
        that was paired when it started still holds the same device now."""
        outcome = session_restore_chain(session_name=SESSION)
        self.tally.restores[outcome.source] += 1
        if self.expect_paired:
            # Still the same healthy live store, kept as it is: never restored over, never asked to pair.
            assert (outcome.source, outcome.device_jid) == ("live", self.jid), f"an outage lost the device: {outcome}"
        now_paired = self.paired()
        assert outcome.needs_pairing == (not now_paired), (outcome, now_paired)
        self.expect_paired = now_paired
        self.tally.children += 1
        return outcome.needs_pairing

    def run_child(self, budget: int) -> int:
        """Feed up to ``budget`` events to a fresh machine; returns how many were fed."""
        must_pair = self.start_child()
        confirming, self.confirming = self.confirming, False
        machine = ConnectionMachine(policy=self.policy, clock=self.clock, confirming_logout=confirming)
        machine.begin(State.CONNECTING, reason="child_started")
        self.restart_required_at = None
        in_a_row = 0  # failures since the last success, counted here independently of the machine
        fed = 0
        script: list[ConnectionSignal] = []
        if confirming:
            # What WhatsApp answers the restored device's dial with: refused again, or a connection.
            false_logout = self.rng.random() < FALSE_LOGOUT
            self.tally.confirm_outcomes["false" if false_logout else "real"] += 1
            script.append(ConnectionSignal(kind="connected") if false_logout else _signal(self.rng, "logged_out"))
        while fed < budget:
            if script:
                kind, signal = "", script.pop(0)
            else:
                kind = self._next_kind(machine, must_pair)
                if kind == "host_restart":
                    if self.rng.random() < 0.5:
                        self.wipe_disk()
                    return fed
                if kind == "restart_then_logout":
                    script.append(_signal(self.rng, "logged_out"))
                    signal = ConnectionSignal(kind="stream_error", reason="515")
                else:
                    signal = self.pair() if kind == "pair_success" else _signal(self.rng, kind)
            self.clock.advance(self.rng.uniform(1, 10) if kind == "" and not confirming else self.rng.expovariate(1 / 30))
            confirming = confirming and machine.state != State.CONNECTED
            before = machine.state
            now = self.clock()
            decision = machine.handle(signal)
            fed += 1
            self.tally.events += 1
            in_a_row = self._check(decision, signal, before, now, in_a_row, must_pair, confirming)
            if signal.kind == "stream_error" and signal.reason == "515" and before not in TERMINAL_STATES:
                self.restart_required_at = now
            if decision.action == Action.CHECK_LEASE:
                # The runtime asks the lease and hands the event back with the answer.
                lease = "moved" if self.rng.random() < LEASE_MOVED else "ours"
                self.tally.lease_checks[lease] += 1
                signal = ConnectionSignal(kind="stream_replaced", detail={"lease": lease})
                before, now = machine.state, self.clock()
                decision = machine.handle(signal)
                in_a_row = self._check(decision, signal, before, now, in_a_row, must_pair, confirming)
            if decision.action == Action.FENCED:
                # Another process of ours holds the session now: nothing marked, nothing deleted.
                assert decision.state == State.STOPPED
                fed += self._stragglers(machine, budget - fed)
                return fed
            if decision.action == Action.CONFIRM_LOGOUT:
                self.logout()  # whatsmeow deleted the device with the logout; the backups stay
                self.confirming = True
                self.tally.confirms += 1
                return fed
            if decision.action == Action.PAIRED:
                SessionHooks(SESSION).on_paired(signal)
                assert self.paired()
                self.expect_paired = True
                must_pair = False
                self.tally.pairings += 1
            elif decision.action == Action.STOP:
                SessionHooks(SESSION).on_terminal(decision)
                if decision.state == State.LOGGED_OUT:
                    self.logout()
                fed += self._stragglers(machine, budget - fed)
                return fed
            elif decision.action == Action.FRESH_CHILD:
                return fed
            elif decision.action == Action.RETRY:
                self.clock.advance(decision.delay)
            elif decision.action == Action.WAIT_UNTIL:
                self.clock.now = decision.until
        return fed

    def _next_kind(self, machine: ConnectionMachine, must_pair: bool) -> str:
        if self.rng.random() < 0.01:
            return "host_restart"
        if must_pair and machine.state != State.CONNECTED:
            # An unpaired store: whatsmeow shows QR codes until one is scanned (or the dial fails).
            return _pick(self.rng, {"qr": 6, "pair_success": 2, "pair_error": 1, "connect_error": 1})
        weights = dict(OUTAGES)
        weights.update(TERMINAL)
        weights["restart_then_logout"] = RESTART_THEN_LOGOUT
        return _pick(self.rng, weights)

    def _stragglers(self, machine: ConnectionMachine, budget: int) -> int:
        """Events still queued after a terminal one: each must be ignored (never a retry)."""
        fed = 0
        for _ in range(min(budget, self.rng.randrange(0, 4))):
            state = machine.state
            kind = _pick(self.rng, {**OUTAGES, **TERMINAL, "qr": 1, "pair_error": 1})
            decision = machine.handle(_signal(self.rng, kind))
            fed += 1
            self.tally.events += 1
            self.tally.ignored_after_stop += 1
            assert decision.action == Action.NONE and decision.state == state == machine.state, decision
            assert decision.attempt == 0 and decision.delay == 0
        return fed

    # -- the rules --------------------------------------------------------------------------------------
    def _check(self, decision, signal, before, now, in_a_row: int, must_pair: bool, confirming: bool = False) -> int:
        policy, tally = self.policy, self.tally
        assert decision.previous == before
        # A failed connection attempt: ours (connect_error, an unknown connect failure) or whatsmeow's own
        # reconnect (a drop, a stream error, a server error). A keepalive timeout is not one.
        failure = signal.kind in {"disconnected", "stream_error", "connect_error"} or (
            signal.kind == "connect_failure"
            and signal.reason not in LOGOUT_REASONS | OUTDATED_REASONS | {"temp_banned"}
        )
        if signal.kind == "connected" or (signal.kind == "keepalive_restored" and before == State.RECONNECTING):
            assert decision.state == State.CONNECTED
            in_a_row = 0
        if failure:
            in_a_row += 1
            if in_a_row > policy.max_attempts:
                assert decision.action == Action.FRESH_CHILD, (in_a_row, decision)
                tally.fresh_children += 1
            else:
                assert decision.action in {Action.RETRY, Action.AWAIT}, (in_a_row, decision)
                assert decision.attempt == in_a_row, (in_a_row, decision)
        else:
            assert decision.action not in {Action.RETRY, Action.FRESH_CHILD} and decision.attempt == 0, decision
        if decision.action == Action.RETRY:
            ceiling = min(policy.cap, policy.base * 2 ** (decision.attempt - 1))
            assert 1 <= decision.attempt <= policy.max_attempts
            assert 0 <= decision.delay <= ceiling <= policy.cap, (decision.delay, ceiling)
            assert decision.detail["ceiling"] == ceiling
            tally.retries += 1
            tally.capped += ceiling == policy.cap
            tally.delay_ratios.append(decision.delay / ceiling)
            tally.max_delay_ratio = max(tally.max_delay_ratio, decision.delay / ceiling)
        if decision.action == Action.AWAIT:
            assert 0 <= decision.attempt <= policy.max_attempts
            assert decision.attempt or signal.kind == "keepalive_timeout"
            tally.awaits += 1
        if decision.action == Action.WAIT_UNTIL:
            expire = float(signal.detail.get("expire_seconds") or 0)
            expected = policy.cap if expire <= 0 else min(expire, MAX_BAN_SECONDS)
            assert decision.state == State.BANNED and decision.delay == expected
            assert decision.until == now + timedelta(seconds=expected)
            tally.bans += 1
        # Misread events: a logout right after a 515 is confirmed first (never by a confirming child); a
        # StreamReplaced is asked of the lease, and leaves fenced when another process of ours holds it.
        logout = signal.kind == "logged_out" or (signal.kind == "connect_failure" and signal.reason in LOGOUT_REASONS)
        recent_515 = self.restart_required_at is not None and now - self.restart_required_at <= LOGOUT_CONFIRM_WINDOW
        unconfirmed = logout and recent_515 and not confirming
        assert unconfirmed == (decision.action == Action.CONFIRM_LOGOUT), (decision, confirming)
        if signal.kind == "stream_replaced":
            lease = signal.detail.get("lease")
            expected = {None: Action.CHECK_LEASE, "ours": Action.STOP}.get(lease, Action.FENCED)
            assert decision.action == expected, decision
        if confirming and logout:
            assert decision.state == State.LOGGED_OUT and decision.detail["confirmed"], decision
        # Logged out and replaced: stop, never retry.
        ends = (
            (logout and not unconfirmed)
            or signal.kind == "client_outdated"
            or (signal.kind == "stream_replaced" and signal.detail.get("lease") == "ours")
            or (signal.kind == "connect_failure" and signal.reason in OUTDATED_REASONS)
            or (signal.kind == "qr" and confirming)  # a confirming child with nothing to reconnect with
        )
        assert ends == (decision.action == Action.STOP), decision
        if decision.action == Action.STOP:
            assert decision.state in TERMINAL_STATES and decision.alert
            if signal.kind == "logged_out" or signal.reason in LOGOUT_REASONS:
                assert decision.state == State.LOGGED_OUT
            if signal.kind == "stream_replaced":
                assert decision.state == State.REPLACED
            tally.stops[decision.state.value] += 1
        if signal.kind == "connect_failure" and signal.reason in SERVER_REASONS:
            assert decision.action in {Action.AWAIT, Action.FRESH_CHILD}
        # Pairing only when the store is not paired.
        if decision.action == Action.SHOW_QR:
            assert must_pair and not self.expect_paired
            tally.qr_shown += 1
        if decision.changed and decision.state == State.PAIRING:
            assert must_pair, decision
        return in_a_row


POLICIES = {
    "settings": None,  # RECONNECT_BASE_SECONDS, RECONNECT_CAP_SECONDS, MAX_RECONNECT_ATTEMPTS
    "tight_cap": (2.0, 5.0, 8),  # the cap binds from the third attempt on
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_1000_scripted_connection_events_keep_backoff_bounds_stops_and_pairing_rules(name, settings):
    rng = random.Random(f"connection-script-{name}")
    base, cap, attempts = POLICIES[name] or (
        settings.RECONNECT_BASE_SECONDS,
        settings.RECONNECT_CAP_SECONDS,
        settings.MAX_RECONNECT_ATTEMPTS,
    )
    policy = BackoffPolicy(base=base, cap=cap, max_attempts=attempts, jitter=lambda c: rng.uniform(0, c))
    tally = Tally()
    world = World(rng, policy, tally)
    while tally.events < EVENTS:
        world.run_child(EVENTS - tally.events)
    assert world.paired() == world.expect_paired
    mean_ratio = sum(tally.delay_ratios) / len(tally.delay_ratios)
    print(
        f"\nFIGURE connection_script policy={name} base={base} cap={cap} max_attempts={attempts} "
        f"events={tally.events} children={tally.children} retries={tally.retries} awaits={tally.awaits} "
        f"fresh_children={tally.fresh_children} bans={tally.bans} stops={dict(tally.stops)} "
        f"ignored_after_stop={tally.ignored_after_stop} qr_shown={tally.qr_shown} pairings={tally.pairings} "
        f"restores={dict(tally.restores)} wipes={tally.wipes} capped_retries={tally.capped} "
        f"lease_checks={dict(tally.lease_checks)} logout_confirms={tally.confirms} "
        f"confirm_outcomes={dict(tally.confirm_outcomes)} "
        f"delay/ceiling max={tally.max_delay_ratio:.3f} mean={mean_ratio:.3f}"
    )
    assert tally.events == EVENTS
    # The script reached every rule it checks.
    assert tally.retries and tally.awaits and tally.fresh_children and tally.bans and tally.pairings
    assert tally.stops["logged_out"] and tally.stops["replaced"] and tally.ignored_after_stop
    assert tally.restores["backup"] and tally.restores["live"]
    assert tally.lease_checks["ours"] and tally.lease_checks["moved"]
    assert tally.confirms and tally.confirm_outcomes["real"] and tally.confirm_outcomes["false"]
    assert 0.3 < mean_ratio < 0.7, "full jitter spreads delays over the whole [0, ceiling]"
    if name == "tight_cap":
        assert tally.capped


@pytest.mark.parametrize("expire", [-1, -(2**63), 10**12, 2**62, 2**63 - 1])
def test_a_ban_with_an_out_of_range_expiry_waits_a_bounded_time_instead_of_crashing(expire):
    """Regression: Expire is an int64; 10**12 s overflowed datetime and crashed the child on every connect."""
    clock = Clock()
    machine = ConnectionMachine(policy=BackoffPolicy(base=1.0, cap=30.0), clock=clock)
    decision = machine.handle(ConnectionSignal(kind="temporary_ban", detail={"expire_seconds": expire}))
    assert decision.action == Action.WAIT_UNTIL and decision.state == State.BANNED
    assert decision.delay == (30.0 if expire <= 0 else MAX_BAN_SECONDS)
    assert decision.until == clock.now + timedelta(seconds=decision.delay)
