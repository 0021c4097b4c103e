"""``python -m tests.support.healthz_probe``: a web process for outage proofs that answers
``/healthz`` once per stdin line and prints ``HEALTHZ {"status": ..., "reason": ..., "seconds": ...}``
(its log lines share stdout).

It goes through Django's whole request path (middleware, the view, the selector) on the database
``DATABASE_URL`` names, as gunicorn's worker would, without a socket of its own.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    import django

    django.setup()
    from django.test import Client

    client = Client()
    print("HEALTHZ " + json.dumps({"ready": True}), flush=True)
    for _line in sys.stdin:
        started = time.monotonic()
        response = client.get("/healthz")
        body = response.json()
        print(
            "HEALTHZ "
            + json.dumps(
                {
                    "status": response.status_code,
                    "reason": body.get("reason", ""),
                    "seconds": round(time.monotonic() - started, 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
