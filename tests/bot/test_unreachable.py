# ruff: noqa: F811 - pytest fixtures imported from tests.bot.fixtures.processes are parameters here
"""A real neonize child that cannot reach WhatsApp: the log, /healthz, /pair/ and /stats say so.

The dial goes through a proxy on a closed local port, so neonize's real ``connect()`` fails here
as it does on a machine without internet (and the test never reaches WhatsApp where there is one).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.bot.fixtures.processes import ROOT, Runbot, child_db, migrated_sqlite, runbot_env  # noqa: F401

pytestmark = pytest.mark.slow

PAGES = """
import django, json; django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from django.contrib.auth.models import Permission
staff, _ = get_user_model().objects.get_or_create(username="probe", defaults={"is_staff": True})
staff.user_permissions.add(Permission.objects.get(codename="pair_session"))  # /pair/ needs it
client = Client(HTTP_HOST="127.0.0.1")
health = client.get("/healthz")
client.force_login(staff)
pair = client.get("/pair/?session=offline3")
stats = client.get("/stats")
print(json.dumps({"health": [health.status_code, health.json()], "pair": pair.content.decode(),
                  "stats": json.loads(stats.content)}))
"""


def _pages(env: dict[str, str]) -> dict:
    env = {**env, "DJANGO_SETTINGS_MODULE": "tests.settings"}  # static files from the finders, no collectstatic
    result = subprocess.run(
        [sys.executable, "-c", PAGES], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_unreachable_whatsapp_is_said_in_the_log_and_on_every_page(runbot_env, tmp_path, child_db):
    runbot_env.update({"MAX_RECONNECT_ATTEMPTS": "1000", "RECONNECT_BASE_SECONDS": "2", "RECONNECT_CAP_SECONDS": "4"})
    bot = Runbot(["--transport", "neonize", "--no-scheduler", "--session", "offline3"], runbot_env, tmp_path)
    [line] = bot.wait_for(r"cannot reach WhatsApp \((?P<error>[^\n]+)\), retrying in (?P<wait>[\d.]+) s", timeout=60)
    assert "connection refused" in line["error"]
    bot.wait_for(r"reconnect attempt session=offline3 attempt=1 ")
    log = bot.log
    assert "scan the QR code the bot prints below" not in log
    assert "once the bot reaches WhatsApp it prints a QR code" in log
    assert "Scan this QR code" not in log  # and no QR came

    # The supervisor writes the child's beats every few seconds: the first may trail the first retry.
    deadline = time.monotonic() + 20
    while (pages := _pages(runbot_env))["health"][1]["reason"].endswith("no heartbeat yet"):
        assert time.monotonic() < deadline, pages["health"]
        time.sleep(0.5)
    status, health = pages["health"]
    assert status == 503
    assert health["reason"] == "session offline3: state is reconnecting (cannot reach WhatsApp)"
    assert "connection refused" not in json.dumps(health)  # /healthz is public: the words, not the error

    banner = re.search(r'id="pair-state">(.*?)</div>\s*</div>', pages["pair"], re.S)[1]
    assert "reconnecting (cannot reach WhatsApp)" in banner and "restoring" not in banner
    assert "connection refused" in banner  # the last error, for the staff

    [session] = [s for s in pages["stats"]["sessions"] if s["session"] == "offline3"]
    assert (session["state"], session["state_reason"]) == ("reconnecting", "whatsapp_unreachable")
    assert session["state_label"] == "reconnecting (cannot reach WhatsApp)"
    problem = session["connection_problem"]
    assert problem["label"] == "cannot reach WhatsApp" and "connection refused" in problem["error"]
    assert problem["failed_at"]

    bot.process.send_signal(signal.SIGTERM)
    code, _ = bot.wait(30)
    assert code == 0, bot.log
