"""The console transport under hostile input: a deeply nested or endless line is one error line and
the reader goes on; a reconnect never starts a second stdin reader. Through the transport's API on a
real pipe (os.pipe), as stdin is in a terminal session."""

from __future__ import annotations

import io
import logging
import os
import threading
import time

from bot.transport.console import MAX_LINE_CHARS, ConsoleTransport, json_depth_exceeds


class Pipe:
    """A real pipe as stdin: lines written now, read by the transport's reader thread."""

    def __init__(self) -> None:
        read_fd, self.write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "r", encoding="utf-8")

    def write(self, text: str) -> None:
        os.write(self.write_fd, text.encode())

    def close(self) -> None:
        os.close(self.write_fd)


def run(transport: ConsoleTransport, seen: list) -> threading.Thread:
    transport.set_handlers(on_message=seen.append, on_signal=lambda s: None)
    thread = threading.Thread(target=transport.connect, daemon=True)
    thread.start()
    return thread


def wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.01)


def test_a_deeply_nested_line_is_one_bad_line_and_twenty_pings_after_it_are_all_read(caplog) -> None:
    pipe = Pipe()
    transport = ConsoleTransport(stdin=pipe.reader, stdout=io.StringIO())
    seen: list = []
    with caplog.at_level(logging.WARNING, logger="bot.transport.console"):
        thread = run(transport, seen)
        pipe.write('{"text": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
        pipe.write('{"text": "x", "group": ' + "{" * 50 + "}" * 50 + "}\n")
        pipe.write("".join(f".ping {n}\n" for n in range(20)))
        wait(lambda: len(seen) == 20)
    assert [m.text for m in seen] == [f".ping {n}" for n in range(20)]
    assert transport.bad_lines == 2
    skipped = [r for r in caplog.records if r.getMessage() == "console line skipped"]
    assert len(skipped) == 2 and all("nested deeper" in r.error for r in skipped)
    pipe.close()
    thread.join(5)
    assert transport.finished


def test_a_reconnect_reuses_the_one_reader_and_no_line_goes_to_a_dead_one() -> None:
    pipe = Pipe()
    transport = ConsoleTransport(stdin=pipe.reader, stdout=io.StringIO())
    seen: list = []
    thread = run(transport, seen)
    pipe.write(".ping a\n")
    wait(lambda: len(seen) == 1)
    for _ in range(3):  # the runtime stops and reconnects the transport (a RETRY)
        transport.stop()
        thread.join(5)
        thread = run(transport, seen)
    pipe.write("".join(f".ping {n}\n" for n in range(20)))
    wait(lambda: len(seen) == 21)
    readers = [t for t in threading.enumerate() if t.name == "console-stdin"]
    assert len(readers) == 1
    pipe.close()
    thread.join(5)


def test_an_endless_line_is_refused_without_holding_it_and_the_next_line_is_read() -> None:
    pipe = Pipe()
    transport = ConsoleTransport(stdin=pipe.reader, stdout=io.StringIO())
    seen: list = []
    thread = run(transport, seen)

    def flood() -> None:
        chunk = "y" * 65536
        for _ in range(MAX_LINE_CHARS * 3 // len(chunk)):
            pipe.write(chunk)
        pipe.write("\n.ping after\n")
        pipe.close()

    threading.Thread(target=flood, daemon=True).start()
    thread.join(20)
    assert [m.text for m in seen] == [".ping after"] and transport.bad_lines == 1


def test_the_depth_check_counts_only_brackets_outside_strings() -> None:
    assert not json_depth_exceeds('{"text": "' + "[" * 500 + '"}')
    assert not json_depth_exceeds('{"text": "\\"[[[[", "a": [[1]]}')
    assert json_depth_exceeds("[" * 33)
