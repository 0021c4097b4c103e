# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""SIGTERM with a paced backlog, with real ``runbot`` processes on a paired session (the console's code
serving it, ``RUNBOT_FAKE_CONSOLE=1``): no reply is lost and the counts are the table's.

50 ``.ping`` commands go into one group chat with the default pacing (12 a minute into one chat after
a burst of 3), and the supervisor gets SIGTERM once all 50 are queued. Afterwards every reply is
either sent (and printed) or still queued, and the "bot child stopped" line says exactly what the
table holds. One queued reply is then aged past OUTBOX_MAX_AGE_SECONDS; the next start sends the
other queued ones, marks that one expired and counts it, and does not answer a redelivered message
id a second time.
"""

from __future__ import annotations

import json
import re
import signal
import time

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.reliability.runbot_cluster import cluster_env, report, start_bot
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.slow

SESSION = "backlog"
GROUP = "120363000000000777@g.us"
COMMANDS = 50
STATE_COUNTS = "SELECT state, COUNT(*) FROM bot_outboxitem WHERE session_name = %s GROUP BY state"


def line(n: int | str) -> str:
    msg_id = n if isinstance(n, str) else f"Q{n:03d}"
    sender = f"1777{abs(hash(msg_id)) % 10**7:07d}"  # one sender per command: per-user limits stay out of it
    return json.dumps({"chat": GROUP, "sender": sender, "text": ".ping", "id": msg_id}) + "\n"


def feed(bot: Runbot, *lines: str) -> None:
    bot.process.stdin.write("".join(lines))
    bot.process.stdin.flush()


def pongs(bot: Runbot) -> list[str]:
    """The ids the bot's printed pongs answer, in print order."""
    replies = [json.loads(text) for text in bot.log.splitlines() if text.startswith('{"chat"')]
    return [r["reply_to"] for r in replies if r["kind"] == "text" and r["text"].startswith("pong")]


def stopped_counts(bot: Runbot) -> dict[str, int]:
    [match] = re.findall(r"bot.child.runtime bot child stopped .*", bot.log)  # the child's line, not the supervisor's
    return {k: int(v) for k, v in re.findall(r"outbox_(\w+)=(\d+)", match)}


def wait_rows(child_db, predicate, *, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = dict(child_db.rows(STATE_COUNTS, (SESSION,)))
        if predicate(counts):
            return counts
        if time.monotonic() > deadline:
            raise AssertionError(f"outbox rows never matched: {counts}")
        time.sleep(0.05)


def stop(bot: Runbot, *, within: float) -> int:
    """SIGTERM with stdin still open (closing it would be the console's end of input, another stop)."""
    bot.process.send_signal(signal.SIGTERM)
    bot.process.wait(within)
    code, _ = bot.wait(5)
    return code


def test_sigterm_with_a_paced_backlog_loses_no_reply_and_the_next_start_sends_the_rest(
    runbot_env, tmp_path, child_db, settings
):
    make_paired_store(SESSION)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    env.update({"RUNBOT_FAKE_CONSOLE": "1", "USER_COMMANDS_PER_MINUTE": "0", "SHUTDOWN_GRACE": "20"})
    env.pop("OUTBOUND_PER_MINUTE", None)  # the default pacing: the backlog this is about
    env.pop("OUTBOUND_CHAT_PER_MINUTE", None)
    env.pop("TYPING_SECONDS", None)

    first = start_bot(env, tmp_path, SESSION)
    first.wait_for(rf"connection state session={SESSION} from=connecting to=connected", timeout=40)
    feed(first, *(line(n) for n in range(COMMANDS)))
    wait_rows(child_db, lambda c: sum(c.values()) == COMMANDS, timeout=20)  # handlers never wait for pacing
    signalled = time.monotonic()
    assert stop(first, within=25) == 0, first.log[-3000:]
    took = time.monotonic() - signalled

    table = dict(child_db.rows(STATE_COUNTS, (SESSION,)))
    assert set(table) <= {"sent", "queued"} and sum(table.values()) == COMMANDS, table  # none lost
    said = stopped_counts(first)
    assert (said["sent"], said["queued"], said["failed"], said["expired"]) == (
        table.get("sent", 0),
        table.get("queued", 0),
        0,
        0,
    )
    sent_ids = sorted(r[0] for r in child_db.rows(
        "SELECT answers FROM bot_outboxitem WHERE session_name = %s AND state = 'sent'", (SESSION,)
    ))  # fmt: skip
    assert sorted(pongs(first)) == sent_ids  # what the table calls sent is what went out, once each
    assert table["queued"] > 0, "the backlog was sent before the deadline: nothing left to prove"

    # One of the left replies waited too long: the next owner must expire it, not send it.
    [(aged_id, aged_answers)] = child_db.rows(
        "SELECT id, answers FROM bot_outboxitem WHERE session_name = %s AND state = 'queued' ORDER BY id DESC LIMIT 1",
        (SESSION,),
    )
    child_db.execute(
        "UPDATE bot_outboxitem SET created_at = %s, not_after = %s WHERE id = %s",
        ("2000-01-01 00:00:00", "2000-01-01 00:10:00", aged_id),
    )
    queued_ids = sorted(r[0] for r in child_db.rows(
        "SELECT answers FROM bot_outboxitem WHERE session_name = %s AND state = 'queued' AND id <> %s",
        (SESSION, aged_id),
    ))  # fmt: skip

    env.update({"OUTBOUND_PER_MINUTE": "6000", "OUTBOUND_CHAT_PER_MINUTE": "6000", "TYPING_SECONDS": "0"})
    second = start_bot(env, tmp_path, SESSION)
    second.wait_for(rf"connection state session={SESSION} from=connecting to=connected", timeout=40)
    wait_rows(child_db, lambda c: "queued" not in c, timeout=30)
    feed(second, line(0), line("FRESH"))  # Q000 again (a redelivery of an answered message), then a new one
    second.wait_for(r'"reply_to":"FRESH"', timeout=20)
    assert stop(second, within=25) == 0, second.log[-3000:]

    assert sorted(pongs(second)) == sorted([*queued_ids, "FRESH"])  # the rest once each; Q000 not again
    table2 = dict(child_db.rows(STATE_COUNTS, (SESSION,)))
    assert table2 == {"sent": COMMANDS, "expired": 1}
    [(state,)] = child_db.rows("SELECT state FROM bot_outboxitem WHERE id = %s", (aged_id,))
    assert state == "expired" and aged_answers not in pongs(second)
    said2 = stopped_counts(second)
    assert (said2["sent"], said2["expired"], said2["queued"]) == (len(queued_ids) + 1, 1, 0)
    assert re.search(rf"outbox: sending what was left queued session={SESSION} queued={len(queued_ids) + 1}", second.log)
    report(
        "outbox_sigterm_backlog",
        commands=COMMANDS,
        sent_before_exit=table.get("sent", 0),
        queued_at_exit=table["queued"],
        lost=0,
        exit_s=round(took, 2),
        sent_by_next_owner=len(queued_ids),
        expired=1,
        redelivered_answered_again=0,
    )
