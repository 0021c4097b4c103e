"""`make run`: the bot and its web app on one machine.

Starts the web app (gunicorn on 127.0.0.1:$PORT, default 8000: admin, /pair/, /dashboard/, /healthz)
in the background and the bot (`manage.py runbot`) in the foreground. With no paired WhatsApp
session the bot prints a QR code in this terminal and the address of the pairing page. Ctrl-C (or
SIGTERM) stops the bot gracefully (final session backup), then the web app.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    port = os.environ.get("PORT", "8000")
    venv_bin = Path(sys.executable).parent
    python = str(venv_bin / "python")
    os.chdir(ROOT)
    web = subprocess.Popen([str(venv_bin / "gunicorn"), "blacksky_site.wsgi", "--bind", f"127.0.0.1:{port}"])
    print(
        f"BLACKSKY-MD web app: http://127.0.0.1:{port}/dashboard/ (health: http://127.0.0.1:{port}/healthz)", flush=True
    )
    print(f"Pairing page: http://127.0.0.1:{port}/pair/ (staff login)", flush=True)
    print(f"Create an admin user with: {python} manage.py createsuperuser", flush=True)
    print("Starting the bot; with no paired session it shows a QR code below. Ctrl-C stops everything.", flush=True)
    bot = subprocess.Popen([python, "manage.py", "runbot", *sys.argv[1:]], env={**os.environ, "PORT": port})

    def forward(signum: int, frame: object) -> None:
        for process in (bot, web):
            if process.poll() is None:
                process.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal already sends Ctrl-C to the whole group
    code = bot.wait()
    if web.poll() is None:
        web.terminate()
    try:
        web.wait(timeout=10)
    except subprocess.TimeoutExpired:
        web.kill()
    return code


if __name__ == "__main__":
    sys.exit(main())
