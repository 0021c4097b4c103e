"""A private PostgreSQL server for outage tests: initdb in a temp dir, its own free port, stopped,
started and frozen by the test (never the machine's shared server). Imported by tests only.

``private_pg`` (a pytest fixture) yields a :class:`PrivatePostgres`; the tests are skipped, with the
reason, when the PostgreSQL server binaries (``initdb``, ``pg_ctl``) are not installed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True):
        if os.access(Path(found) / "initdb", os.X_OK):
            return Path(found)
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivatePostgres:
    """One throw-away server: ``start``/``stop`` it (refusing), ``freeze``/``thaw`` it (hanging)."""

    def __init__(self, *, bindir: Path, root: Path, port: int | None = None, user: str | None = None) -> None:
        self.bindir = bindir
        self.root = root
        self.user = user  # PostgreSQL refuses to run as root: the server then runs as this user
        self.data = root / "pgdata"
        self.logfile = root / "postgres.log"
        self.port = port or _free_port()
        self.frozen: list[int] = []

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/blacksky"

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        subprocess.run(args, check=True, timeout=timeout, capture_output=True, user=self.user)

    def init(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run(str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "blacksky")

    def start(self) -> None:
        # Unix sockets in the data dir (the default /var/run/postgresql may not be writable).
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        """A refusing outage: the server is gone, connections are reset, new ones are refused."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every backend and helper it forked."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        found = [postmaster]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == postmaster:
                    found.append(int(entry.name))
        return found

    def freeze(self) -> None:
        """A hanging outage: sockets stay open, nothing answers (as a frozen VM or a stuck host)."""
        self.frozen = []
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # a backend that ended between the listing and the signal
                continue
            self.frozen.append(pid)

    def thaw(self) -> None:
        for pid in self.frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.frozen = []

    def accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def destroy(self) -> None:
        self.thaw()
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop()
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def private_pg_create() -> PrivatePostgres:
    """A fresh initialised and started server; the caller destroys it. Skips the test when it cannot."""
    bindir = _binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    user = None
    # pytest's tmp dirs are private to root, and the server must not run as root: a dir of its own.
    root = Path(tempfile.mkdtemp(prefix="blacksky-pg-"))
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run a private server as")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        user = "postgres"
    server = PrivatePostgres(bindir=bindir, root=root, user=user)
    server.init()
    return server


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    started = time.monotonic()
    server = private_pg_create()
    print(f"private PostgreSQL on port {server.port} ready in {time.monotonic() - started:.1f} s", flush=True)
    try:
        yield server
    finally:
        server.destroy()
