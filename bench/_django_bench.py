"""Start-up every in-process bench shares: the settings a bench run needs, then ``django.setup()``.

Imported first by the bench scripts that run Django in their own process (``python bench/<name>.py``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def django_bench_setup(prefix: str, **environ: str) -> None:
    """A database of its own (``--database-url URL``, else a fresh SQLite file), quiet logs, ``environ`` on top."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnop")
    os.environ["BLACKSKY_DOTENV"] = "0"
    if "--database-url" in sys.argv:  # before django.setup(): the settings read it once
        os.environ["DATABASE_URL"] = sys.argv[sys.argv.index("--database-url") + 1]
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix=prefix)}/bench.sqlite3"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.update(environ)

    import django

    django.setup()
