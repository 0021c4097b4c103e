"""The control table: how an operator's request on the web dyno reaches the bot on the worker dyno.

The two dynos share only the database. The web side inserts a ``ControlCommand`` row
(:func:`control_request`); the supervisor polls every few seconds and carries out what is pending
for its session (:func:`control_run_pending`), recording who asked, when, and how it ended.

Claiming a row is a compare-and-set (``pending -> running`` by an UPDATE that names the old
state), so two pollers never run the same request, on SQLite as on PostgreSQL; on PostgreSQL
``select_for_update(skip_locked=True)`` also keeps them from waiting on each other's rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from bot.models import ControlCommand

logger = logging.getLogger(__name__)

#: A request nobody picked up within this long is failed rather than run late: a "restart" asked
#: for yesterday while the worker was down must not fire when it comes back.
PENDING_EXPIRY = timedelta(hours=1)
#: A row still ``running`` after this long belonged to a process that died while running it.
RUNNING_STALE_AFTER = timedelta(minutes=15)
#: Longest result text kept (an exception message can be long).
RESULT_MAX_CHARS = 2000

ACTIONS: frozenset[str] = frozenset(ControlCommand.Action.values)


class ControlError(ValueError):
    """A control request that cannot be accepted (unknown action, missing session, a wrong phone number)."""


PHONE_DIGITS_MIN, PHONE_DIGITS_MAX = 5, 16  # E.164 allows 15; whatsmeow takes what the phone shows
_PHONE_SEPARATORS = frozenset(" -.()/")


def pair_phone_parse(value: str) -> str:
    """The digits of a phone number in international format: ``"+49 151 234-5678"`` -> ``"491512345678"``.

    Raises :class:`ControlError` saying what is wrong, so the page and ``runbot --pair-phone`` give
    the same clear answer; WhatsApp would only say "could not link" minutes later.
    """
    text = (value or "").strip()
    if text.startswith("+"):
        text = text[1:]
    elif text.startswith("00"):
        text = text[2:]
    example = "the country code first, e.g. +49 151 23456789 or 15551234567"
    if not text:
        raise ControlError(f"Enter the WhatsApp account's phone number in international format ({example}).")
    wrong = sorted({ch for ch in text if not ch.isdigit() and ch not in _PHONE_SEPARATORS})
    if wrong or not text.isascii():
        raise ControlError(f"A phone number has digits only (spaces, dashes and a leading + are fine); got {value!r}.")
    digits = "".join(ch for ch in text if ch.isdigit())
    if not PHONE_DIGITS_MIN <= len(digits) <= PHONE_DIGITS_MAX:
        raise ControlError(
            f"A phone number in international format has {PHONE_DIGITS_MIN} to {PHONE_DIGITS_MAX} digits; "
            f"{value!r} has {len(digits)}."
        )
    if digits.startswith("0"):
        raise ControlError(f"Start with the country code, not a 0 ({example}).")
    return digits


#: The permission each action needs, checked wherever a person asks (admin, /pair/, "ask again").
ACTION_PERMISSIONS: dict[str, str] = {
    ControlCommand.Action.BACKUP: "bot.request_backup",
    ControlCommand.Action.VERIFY: "bot.verify_backups",
    ControlCommand.Action.RESTORE: "bot.restore_backup",
    ControlCommand.Action.RECONNECT: "bot.request_reconnect",
    ControlCommand.Action.RESTART: "bot.request_restart",
    ControlCommand.Action.REFRESH_QR: "sessions_store.pair_session",
    ControlCommand.Action.PAIR_PHONE: "sessions_store.pair_session",
}


def control_allowed(user, action: str) -> bool:
    """May ``user`` ask for ``action``? (``None``: the system itself, e.g. a schedule: always.)"""
    if user is None:
        return True
    return bool(getattr(user, "is_active", False) and user.has_perm(ACTION_PERMISSIONS[action]))


def control_request(*, session_name: str, action: str, args: dict | None = None, user=None) -> ControlCommand:
    """Queue ``action`` for the bot of ``session_name``; returns the pending row.

    Raises :class:`ControlError` for an unknown action or an empty session name, so a typo in a
    caller never sits in the table waiting for a handler that does not exist.
    """
    session_name = (session_name or "").strip()
    if not session_name:
        raise ControlError("a control request needs a session name")
    if action not in ACTIONS:
        raise ControlError(f"unknown control action {action!r}; expected one of {', '.join(sorted(ACTIONS))}")
    if args is not None and not isinstance(args, dict):
        raise ControlError("control arguments must be a JSON object (a dict)")
    if not control_allowed(user, action):
        raise ControlError(f"You are not allowed to ask for {action} (it needs the {ACTION_PERMISSIONS[action]} permission).")
    if action == ControlCommand.Action.PAIR_PHONE:
        args = {**(args or {}), "phone": pair_phone_parse(str((args or {}).get("phone", "")))}
    requested_by = user if getattr(user, "is_authenticated", False) else None
    command = ControlCommand.objects.create(
        session_name=session_name, action=action, args=args or {}, requested_by=requested_by
    )
    logger.info(
        "control requested",
        extra={
            "session": session_name,
            "action": action,
            "control_id": command.pk,
            "user": getattr(requested_by, "username", "") or "-",
        },
    )
    return command


def _expire_old(*, session_name: str) -> int:
    now = timezone.now()
    expired = ControlCommand.objects.filter(
        session_name=session_name, state=ControlCommand.State.PENDING, requested_at__lt=now - PENDING_EXPIRY
    ).update(
        state=ControlCommand.State.FAILED,
        finished_at=now,
        result=f"expired: no bot picked it up within {int(PENDING_EXPIRY.total_seconds() // 60)} minutes",
    )
    stale = ControlCommand.objects.filter(
        session_name=session_name, state=ControlCommand.State.RUNNING, started_at__lt=now - RUNNING_STALE_AFTER
    ).update(
        state=ControlCommand.State.FAILED,
        finished_at=now,
        result="interrupted: the process running it stopped before it finished",
    )
    if expired or stale:
        logger.warning("control requests given up", extra={"session": session_name, "expired": expired, "stale": stale})
    return expired + stale


def _claim_next(*, session_name: str) -> ControlCommand | None:
    """Take the oldest pending row of the session, or None when there is none left."""
    while True:
        with transaction.atomic():
            pending = ControlCommand.objects.filter(
                session_name=session_name, state=ControlCommand.State.PENDING
            ).order_by("requested_at", "id")
            if connection.features.has_select_for_update_skip_locked:
                pending = pending.select_for_update(skip_locked=True)
            command = pending.first()
            if command is None:
                return None
            now = timezone.now()
            claimed = ControlCommand.objects.filter(pk=command.pk, state=ControlCommand.State.PENDING).update(
                state=ControlCommand.State.RUNNING, started_at=now
            )
        if claimed:
            command.state = ControlCommand.State.RUNNING
            command.started_at = now
            return command
        # Another poller took it between our read and our update: look again.


def _finish(command: ControlCommand, *, state: str, result: str) -> None:
    command.state = state
    command.result = result[:RESULT_MAX_CHARS]
    command.finished_at = timezone.now()
    command.save(update_fields=["state", "result", "finished_at"])


def control_run_pending(
    *,
    session_name: str,
    actions: Mapping[str, Callable[[ControlCommand], str]],
    limit: int = 20,
) -> int:
    """Run the pending requests of ``session_name`` oldest first; returns how many ran.

    Each handler gets the row and returns a short outcome text, stored as ``done``; an exception
    stores ``failed`` with its message and never escapes (the supervisor loop must go on). An
    action this process has no handler for fails with a message saying so. At most ``limit``
    requests per call keep one poll short.
    """
    _expire_old(session_name=session_name)
    ran = 0
    while ran < limit:
        command = _claim_next(session_name=session_name)
        if command is None:
            break
        ran += 1
        handler = actions.get(command.action)
        log_extra = {"session": session_name, "action": command.action, "control_id": command.pk}
        if handler is None:
            _finish(command, state=ControlCommand.State.FAILED, result=f"no handler for {command.action!r} here")
            logger.warning("control action has no handler", extra=log_extra)
            continue
        try:
            outcome = handler(command)
        except Exception as exc:  # the handler's failure is the request's outcome, not the poller's
            _finish(command, state=ControlCommand.State.FAILED, result=f"{type(exc).__name__}: {exc}")
            logger.warning("control action failed", extra={**log_extra, "error": type(exc).__name__}, exc_info=True)
            continue
        _finish(command, state=ControlCommand.State.DONE, result="" if outcome is None else str(outcome))
        logger.info("control action done", extra=log_extra)
    return ran


def control_pending_exists(*, session_name: str, action: str) -> bool:
    """Whether the same request already waits for the bot (so a double click queues it once)."""
    return ControlCommand.objects.filter(
        session_name=session_name, action=action, state=ControlCommand.State.PENDING
    ).exists()


def control_record(
    *, session_name: str, action: str, run: Callable[[], str], user=None, args: dict | None = None
) -> ControlCommand:
    """Run an action that needs no bot (verifying stored backups) here and now, and record it in
    the control table like the others: who asked, when, and the outcome. Never raises for ``run``'s
    failure: the row says ``failed`` with the message."""
    command = control_request(session_name=session_name, action=action, args=args, user=user)
    started = timezone.now()
    claimed = ControlCommand.objects.filter(pk=command.pk, state=ControlCommand.State.PENDING).update(
        state=ControlCommand.State.RUNNING, started_at=started
    )
    command.started_at = started
    if not claimed:  # a poller took it first: it will run there
        command.refresh_from_db()
        return command
    try:
        outcome = run()
    except Exception as exc:
        _finish(command, state=ControlCommand.State.FAILED, result=f"{type(exc).__name__}: {exc}")
        logger.warning(
            "control action failed", extra={"session": session_name, "action": action, "control_id": command.pk}
        )
    else:
        _finish(command, state=ControlCommand.State.DONE, result="" if outcome is None else str(outcome))
    return command
