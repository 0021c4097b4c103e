"""The web app answers, migrations are committed, static files collect, schedules sync idempotently."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from blacksky_site.logging import KeyValueFormatter, RedactSecretsFilter
from blacksky_site.schedules import ScheduleSpec, schedules_sync

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_answers_with_the_database_up(client: Client) -> None:
    # /healthz also needs a connected bot with a fresh heartbeat (issue 8; states in tests/bot/test_views.py).
    from django.utils import timezone

    from bot.models import BotStatus

    BotStatus.objects.create(session_name="default", state="connected", last_heartbeat_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_live_needs_no_database(client: Client) -> None:
    response = client.get("/healthz?live=1")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "check": "live"}


@pytest.mark.django_db
def test_admin_login_page_renders_with_its_static_files(client: Client) -> None:
    response = client.get("/admin/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/admin/css/base.css" in html
    css = client.get("/static/admin/css/base.css")
    assert css.status_code == 200


def test_anonymous_admin_redirects_to_login(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_setup_schedules_twice_creates_nothing_the_second_time() -> None:
    specs = [
        ScheduleSpec(name="test.every5", func="math.floor", schedule_type="I", minutes=5, kwargs={"x": 1}),
        ScheduleSpec(name="test.daily", func="math.ceil", schedule_type="D"),
    ]
    first = schedules_sync(specs=specs)
    second = schedules_sync(specs=specs)
    assert first["created"] == ["test.every5", "test.daily"]
    assert second == {"created": [], "updated": [], "unchanged": ["test.every5", "test.daily"]}
    changed = schedules_sync(specs=[ScheduleSpec(name="test.every5", func="math.floor", schedule_type="I", minutes=10)])
    assert changed["updated"] == ["test.every5"]


@pytest.mark.django_db
def test_setup_schedules_command_is_idempotent_for_the_declared_schedules() -> None:
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=io.StringIO())
    count = Schedule.objects.count()
    out = io.StringIO()
    call_command("setup_schedules", stdout=out)
    assert Schedule.objects.count() == count
    assert "0 created, 0 updated" in out.getvalue()


def test_collectstatic_works_with_the_production_storage(tmp_path: Path, subprocess_env, manage_py) -> None:
    code = (
        "import django, sys; from django.conf import settings; "
        f"settings.STATIC_ROOT = {str(tmp_path / 'static')!r}; django.setup(); "
        "from django.core.management import call_command; call_command('collectstatic', '--noinput', verbosity=0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "admin" / "css").glob("base.*.css.gz"))


def test_log_lines_carry_key_value_fields_and_no_secrets(settings) -> None:
    record = logging.LogRecord("bot.child.runtime", logging.INFO, __file__, 1, "connected as %s", ("bot",), None)
    record.session = "default"
    record.reason = "network down"
    redact = RedactSecretsFilter()
    redact.secrets = ["supersecret-token-123"]
    record.token = "supersecret-token-123"
    assert redact.filter(record)
    line = KeyValueFormatter().format(record)
    assert line.endswith('INFO bot.child.runtime connected as bot session=default reason="network down" token=[redacted]')
    assert "supersecret" not in line


def test_importing_neonize_after_django_does_not_double_log_lines(subprocess_env) -> None:
    code = (
        "import django, logging; django.setup(); import neonize.client; "
        "logging.getLogger('bot.test').warning('only once')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "only once" in line]
    assert len(lines) == 1, result.stdout + result.stderr
    assert " WARNING bot.test only once" in lines[0]


@pytest.mark.django_db
def test_the_database_backend_is_the_one_database_url_names(settings) -> None:
    expected = "postgresql" if settings.DB_IS_POSTGRES else "sqlite"
    assert connection.vendor == expected
