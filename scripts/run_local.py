"""`make run`: the bot and its web app on one machine.

Starts the web app (gunicorn on 127.0.0.1:$PORT, default 8000: admin, /pair/, /dashboard/, /healthz)
in the background and the bot (`manage.py runbot`) in the foreground. With no paired WhatsApp
session the bot prints a QR code in this terminal and the address of the pairing page. Ctrl-C (or
SIGTERM) stops the bot gracefully (final session backup), then the web app. A port already taken
stops it before anything starts (gunicorn would retry five times and give up while the bot ran on
without its web app); a web app that dies stops the bot too, so the URLs printed stay true.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def port_free(port: int, *, host: str = HOST) -> bool:
    """Whether gunicorn could bind ``host:port`` now (SO_REUSEADDR, as gunicorn binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno in {errno.EADDRINUSE, errno.EACCES}:
                return False
            raise
    return True


def free_port_after(port: int, *, tries: int = 50) -> int | None:
    return next((candidate for candidate in range(port + 1, port + 1 + tries) if port_free(candidate)), None)


def main() -> int:
    raw = os.environ.get("PORT", "8000")
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        print(f"PORT is set to {raw!r}, but it must be a port number such as 8000.", file=sys.stderr)
        return 2
    port = int(raw)
    if not port_free(port):
        other = free_port_after(port)
        hint = f": run `PORT={other} make run`" if other else "; choose a free one with PORT=<number> make run"
        print(
            f"Port {port} on {HOST} is taken (another `make run` or web app?){hint}. Nothing was started.",
            file=sys.stderr,
        )
        return 2
    venv_bin = Path(sys.executable).parent
    python = str(venv_bin / "python")
    os.chdir(ROOT)
    web = subprocess.Popen([str(venv_bin / "gunicorn"), "blacksky_site.wsgi", "--bind", f"{HOST}:{port}"])
    print(f"BLACKSKY-MD web app: http://{HOST}:{port}/dashboard/ (health: http://{HOST}:{port}/healthz)", flush=True)
    print(f"Pairing page: http://{HOST}:{port}/pair/ (staff login)", flush=True)
    print(f"Create an admin user with: {python} manage.py createsuperuser", flush=True)
    print("Starting the bot; with no paired session it shows a QR code below. Ctrl-C stops everything.", flush=True)
    bot = subprocess.Popen([python, "manage.py", "runbot", *sys.argv[1:]], env={**os.environ, "PORT": str(port)})

    def forward(signum: int, frame: object) -> None:
        for process in (bot, web):
            if process.poll() is None:
                process.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal already sends Ctrl-C to the whole group
    web_died = False
    while bot.poll() is None:
        if web.poll() is not None:
            web_died = True
            print(f"The web app stopped (exit {web.returncode}); stopping the bot too.", file=sys.stderr, flush=True)
            bot.send_signal(signal.SIGTERM)
            break
        time.sleep(0.5)
    code = bot.wait()
    if web.poll() is None:
        web.terminate()
    try:
        web.wait(timeout=10)
    except subprocess.TimeoutExpired:
        web.kill()
    return 1 if web_died and code == 0 else code


if __name__ == "__main__":
    sys.exit(main())
