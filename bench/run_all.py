"""`make bench`: run every bench/ script and print one table of figures.

Each script prints lines ``RESULT <figure> value=<v> floor=<f> ratio=<r> goal=<g>``: our value,
the floor measured in the same run, their ratio and the goal. A script that fails shows as such.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LINE = re.compile(r"^RESULT (?P<figure>\S+) (?P<fields>.*)$")


def parse(output: str) -> list[dict[str, str]]:
    rows = []
    for line in output.splitlines():
        match = LINE.match(line.strip())
        if match:
            fields = dict(item.split("=", 1) for item in match["fields"].split() if "=" in item)
            rows.append({"figure": match["figure"], **fields})
    return rows


def run(script: Path) -> tuple[list[dict[str, str]], str]:
    cmd = [sys.executable, str(script)] if script.suffix == ".py" else ["bash", str(script)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return [], "timed out"
    took = time.monotonic() - started
    rows = parse(proc.stdout)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return rows, f"exit {proc.returncode}: {tail[0][:80]}"
    return rows, f"ok in {took:.0f}s"


def main() -> int:
    scripts = sorted(
        p
        for p in BENCH.iterdir()
        if p.suffix in {".py", ".sh"} and p.name != "run_all.py" and not p.name.startswith("_")
    )
    table: list[dict[str, str]] = []
    failed = False
    for script in scripts:
        print(f"running {script.name} ...", file=sys.stderr, flush=True)
        rows, status = run(script)
        if not status.startswith("ok"):
            failed = True
        for row in rows or [{"figure": "-"}]:
            table.append({"script": script.name, "status": status, **row})
    columns = ["script", "figure", "value", "floor", "ratio", "goal", "status"]
    widths = {c: max(len(c), *(len(r.get(c, "")) for r in table)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in table:
        print("  ".join(row.get(c, "").ljust(widths[c]) for c in columns))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
