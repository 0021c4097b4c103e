# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""SIGTERM under a steady stream of commands (issue 10), with a real ``runbot`` on a paired session.

The child serves the console transport's code on the session (``RUNBOT_FAKE_CONSOLE=1``, see
``runbot_fake_neonize``): the test writes ``.ping`` lines to stdin without pause, each from its own
sender with its own message id, before and after it sends SIGTERM to the supervisor.

"Accepted" is defined from the child's own counters, both logged when it stops: the transport read
``lines_read`` lines (``fake console done``) and the runtime refused ``dropped`` of them because it
had stopped accepting (``bot child stopped ... dropped=``). Accepted = lines_read - dropped (no line
is blank or bad). Every accepted message must be answered: exactly ``accepted`` pongs, and they
answer exactly the first ``accepted`` ids written (no gaps, none twice).
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time

import pytest

from tests.bot.fixtures.processes import Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401
from tests.reliability.runbot_cluster import cluster_env, report, start_bot
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.slow

RATE = 100  # lines per second written to stdin
EXIT_WITHIN = 25.0


class Feeder:
    """Writes ``.ping`` lines to the bot's stdin at a steady rate until stopped or the pipe closes."""

    def __init__(self, bot: Runbot) -> None:
        self.bot = bot
        self.written = 0
        self.written_at_signal: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        stdin = self.bot.process.stdin
        started = time.monotonic()
        while not self._stop.is_set():
            line = json.dumps({"sender": f"1777{self.written:07d}", "text": ".ping", "id": f"M{self.written:06d}"})
            try:
                stdin.write(line + "\n")
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return
            self.written += 1
            self._stop.wait(max(0.0, started + self.written / RATE - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        try:
            self.bot.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass


def test_sigterm_under_a_stream_of_commands_answers_every_accepted_one_and_backs_up(
    runbot_env, tmp_path, child_db, settings
):
    session = "stream"
    make_paired_store(session)
    env = cluster_env(runbot_env, store_dir=settings.WA_STORE_DIR)
    env.update(
        {
            "RUNBOT_FAKE_CONSOLE": "1",
            "OUTBOUND_PER_MINUTE": "0",  # pacing off: the drain is about handlers, not WhatsApp's pace
            "TYPING_SECONDS": "0",
            "SHUTDOWN_GRACE": str(int(EXIT_WITHIN)),
        }
    )
    bot = start_bot(env, tmp_path, session)
    bot.wait_for(rf"connection state session={session} from=connecting to=connected", timeout=40)
    feeder = Feeder(bot)
    feeder.start()
    while feeder.written < RATE * 2:  # two seconds of steady traffic first
        time.sleep(0.05)
    first_pongs = len(re.findall(r'"text":"pong', bot.log))
    assert first_pongs > 0, bot.log[-3000:]
    signalled = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    feeder.written_at_signal = feeder.written
    bot.wait_for(r"fake console done", timeout=EXIT_WITHIN)  # the stream goes on until the child stops reading
    feeder.stop()
    code, _ = bot.wait(EXIT_WITHIN)
    took = time.monotonic() - signalled
    assert code == 0, bot.log[-3000:]
    assert took < EXIT_WITHIN

    log = bot.log
    [done] = re.findall(r"fake console done lines_read=(\d+) bad_lines=(\d+)", log)
    lines_read, bad = int(done[0]), int(done[1])
    [dropped] = [int(d) for d in re.findall(r"bot child stopped .*dropped=(\d+)", log)]
    accepted = lines_read - dropped
    assert bad == 0
    replies = [json.loads(line) for line in log.splitlines() if line.startswith('{"chat"')]
    answered = [r["reply_to"] for r in replies if r["kind"] == "text" and r["text"].startswith("pong")]
    assert len(replies) == len(answered), [r for r in replies if r["reply_to"] not in answered][:3]
    assert sorted(answered) == [f"M{i:06d}" for i in range(accepted)], "an accepted message went unanswered"
    assert accepted >= first_pongs
    [(reason, state)] = child_db.rows(
        "SELECT b.reason, b.state FROM sessions_store_sessionbackup b JOIN sessions_store_whatsappsession s "
        "ON s.id = b.session_id WHERE s.name = %s",
        (session,),
    )
    assert (reason, state) == ("shutdown", "verified")
    report(
        "sigterm_under_stream",
        rate_per_s=RATE,
        written_before_signal=feeder.written_at_signal,
        written=feeder.written,
        read=lines_read,
        accepted=accepted,
        answered=len(answered),
        dropped_after_signal=dropped,
        exit_code=code,
        exit_s=round(took, 2),
        shutdown_backup=state,
    )
