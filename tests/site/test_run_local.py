"""`make run` (scripts/run_local.py) with its port taken: it says which port to use and starts nothing."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from run_local import free_port_after, port_free  # noqa: E402


def test_a_taken_port_stops_make_run_before_anything_starts_and_names_a_free_one(subprocess_env, tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not port_free(port)
        subprocess_env["PORT"] = str(port)
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "run_local.py")],
            env=subprocess_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2
    assert result.stdout == ""  # no URLs printed for a web app that never came up, no bot banner
    match = re.fullmatch(
        rf"Port {port} on 127\.0\.0\.1 is taken \(another `make run` or web app\?\): run `PORT=(\d+) make run`\. "
        r"Nothing was started\.\n",
        result.stderr,
    )
    assert match, result.stderr
    assert int(match[1]) > port and port_free(int(match[1]))


def test_a_bad_port_value_is_one_sentence() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_local.py")],
        env={"PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (result.returncode, result.stderr) == (
        2,
        "PORT is set to 'eighty', but it must be a port number such as 8000.\n",
    )


def test_the_suggested_port_is_the_next_free_one() -> None:
    with socket.socket() as a:
        a.bind(("127.0.0.1", 0))
        a.listen()
        port = a.getsockname()[1]
        suggestion = free_port_after(port)
    assert suggestion is not None and suggestion > port
