"""Where the running session came from: the supervisor records the restore chain's decision, and the
dashboard and /stats show it (live store, backup #N of <time>, env var, fresh pairing)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from bot import events
from bot.supervisor.loop import Supervisor
from bot.supervisor.ownership import NoOwnership
from ops.selectors.stats import stats_snapshot
from sessions_store.envvars import env_export
from sessions_store.models import SessionBackup, WhatsAppSession
from sessions_store.services import backup_create, session_archive_current, session_mark_trial
from sessions_store.store import store_for
from tests.sessions_store.factories import isolated_sessions, make_paired_store  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("isolated_sessions")]


@pytest.fixture(autouse=True)
def _no_store_left_behind():
    """A PostgreSQL store is a schema outside the test's transaction: wipe it so no later test finds it."""
    yield
    store_for("default").wipe()


def start(name: str = "default") -> dict:
    """What a worker does at start, up to the restore chain, then /stats' view of the session."""
    events.bot_status_process_started(session_name=name, pid=1234)
    supervisor = Supervisor(session_name=name, transport="neonize", scheduler=False, ownership=NoOwnership())
    supervisor.restore()
    [session] = [s for s in stats_snapshot()["sessions"] if s["session"] == name]
    return session["origin"]


@pytest.mark.slow
def test_a_restart_says_whether_the_session_came_from_the_live_store_a_backup_or_nothing():
    make_paired_store("default")
    assert start()["label"] == "live store (kept as it was)"

    backup = backup_create(session_name="default", reason="manual")
    assert backup.state == SessionBackup.State.VERIFIED
    store_for("default").wipe()  # an ephemeral disk: the restart finds no live store
    origin = start()
    assert origin["recorded"] and origin["source"] == "backup" and origin["backup_id"] == backup.pk
    assert origin["label"] == f"backup #{backup.pk} of {backup.created_at:%Y-%m-%d %H:%M} UTC"

    WhatsAppSession.objects.all().delete()
    store_for("default").wipe()
    assert start()["label"] == "fresh pairing (no live store, backup or env var to restore)"


@pytest.mark.slow
def test_a_session_restored_from_the_env_var_says_so(settings):
    make_paired_store("default")
    WhatsAppSession.objects.create(name="default")
    settings.WA_SESSION_DATA = env_export(
        archive=session_archive_current(session_name="default"), session_name="default"
    ).values["WA_SESSION_DATA"]
    store_for("default").wipe()
    assert start()["label"] == "env var WA_SESSION_DATA"


def test_an_origin_recorded_before_this_process_started_is_not_shown_as_this_ones():
    WhatsAppSession.objects.create(name="default")
    assert start()["recorded"] is True
    events.bot_status_process_started(session_name="default", pid=99)  # a new process, not restored yet
    origin = stats_snapshot()["sessions"][0]["origin"]
    assert origin == {"recorded": False, "source": "", "label": "not recorded since this process started", "at": None}
    session_mark_trial(name="try")
    [trial] = [s for s in stats_snapshot()["sessions"] if s["session"] == "try"]
    assert trial["origin"]["label"] == "console trial (no WhatsApp session)"


def test_the_dashboard_has_a_place_for_the_origin_and_the_figures_carry_it():
    WhatsAppSession.objects.create(name="default")
    origin = start()  # whatever this database's store holds: another test may have left one
    assert origin["recorded"]
    client = Client()
    client.force_login(get_user_model().objects.create_user("op", password="pw", is_staff=True))
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-field="origin"' in page and "Session came from" in page
    assert origin["label"] in page  # in the figures embedded for the first draw
