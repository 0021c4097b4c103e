"""`make run`: the project's main job on one machine.

Starts the web app (gunicorn on $PORT, default 8000) and prints how to create an admin user.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    port = os.environ.get("PORT", "8000")
    venv_bin = Path(sys.executable).parent
    print(
        f"BLACKSKY-MD web app on http://127.0.0.1:{port}/admin/ (health: http://127.0.0.1:{port}/healthz)", flush=True
    )
    print(f"Create an admin user with: {venv_bin / 'python'} manage.py createsuperuser", flush=True)
    os.chdir(ROOT)
    gunicorn = str(venv_bin / "gunicorn")
    os.execv(gunicorn, [gunicorn, "blacksky_site.wsgi", "--bind", f"127.0.0.1:{port}"])


if __name__ == "__main__":
    sys.exit(main())
