"""One session per live store, held by the database: ``WhatsAppSession.store_key`` is unique, so no
path that creates a session (lease, pairing codes, trials, Heroku credentials, the admin, raw rows)
can put a second one on a store; a renamed session cannot either; two sessions from before keys on
one store are named by ``manage.py check``, the younger is refused at start, and removing it leaves
the other's store alone."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from bot.session_removal import session_remove_everything
from bot.supervisor.fleet import Fleet
from sessions_store.checks import sessions_sharing_a_store
from sessions_store.lease import lease_acquire
from sessions_store.models import WhatsAppSession
from sessions_store.pairing import pairing_code_store
from sessions_store.services import SessionStoreError, session_get_or_create, session_mark_trial
from sessions_store.store import SessionNameError, StoreError, store_for
from tests.sessions_store.factories import make_paired_store

pytestmark = pytest.mark.django_db


def _lease(name: str):
    return lease_acquire(session_name=name, holder_host="here", holder_pid=1, token="t" * 32, ttl=30)


@pytest.mark.parametrize(
    "create",
    [
        lambda name: _lease(name),
        lambda name: pairing_code_store(session_name=name, kind="qr", code="2@abc", ttl_seconds=20),
        lambda name: session_mark_trial(name=name),
        lambda name: session_get_or_create(name=name),
    ],
    ids=["lease", "pairing_code", "trial", "service"],
)
@pytest.mark.parametrize(("first", "second"), [("sales", "Sales"), ("a-b", "a_b")])
def test_no_path_creates_a_second_session_on_a_taken_store(create, first: str, second: str) -> None:
    WhatsAppSession.objects.create(name=first)
    with pytest.raises((StoreError, SessionStoreError)) as refused:
        create(second)
    assert f"session {first!r}" in str(refused.value) and "is taken" in str(refused.value)
    assert list(WhatsAppSession.objects.values_list("name", flat=True)) == [first]


def test_the_database_itself_refuses_a_second_session_on_a_store() -> None:
    WhatsAppSession.objects.create(name="sales")
    with pytest.raises(IntegrityError), transaction.atomic():
        WhatsAppSession.objects.create(name="Sales")
    assert WhatsAppSession.objects.get().store_key == "sales"


def test_a_session_cannot_be_renamed_in_the_admin() -> None:
    WhatsAppSession.objects.create(name="sales")
    other = WhatsAppSession.objects.create(name="north")
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("root", password="pw"))
    url = reverse("admin:sessions_store_whatsappsession_change", args=[other.pk])
    page = client.get(url).content.decode()
    assert 'name="name"' not in page, "the name is shown, not editable"
    client.post(url, {"name": "Sales", "status": "new", "jid": "", "push_name": "", "status_reason": ""})
    other.refresh_from_db()
    assert (other.name, other.store_key) == ("north", "north")


def _two_on_one_store() -> tuple[WhatsAppSession, WhatsAppSession]:
    """What a database from before store keys may hold: 'sales' and 'Sales', only the older keyed."""
    older = WhatsAppSession.objects.create(name="sales")
    younger = WhatsAppSession.objects.create(name="sales-younger")
    WhatsAppSession.objects.filter(pk=younger.pk).update(name="Sales", store_key=None)
    younger.refresh_from_db()
    return older, younger


def test_the_check_names_sessions_that_share_a_store() -> None:
    _two_on_one_store()
    [warning] = sessions_sharing_a_store(databases=["default"])
    assert warning.id == "sessions_store.W001"
    assert "'sales', 'Sales' map to one live store" in warning.msg and "remove_session" in warning.hint
    assert sessions_sharing_a_store(databases=None) == [], "only where the database is asked about"
    out, err = StringIO(), StringIO()
    call_command("check", "--database", "default", stdout=out, stderr=err)
    assert "sessions_store.W001" in out.getvalue() + err.getvalue()


def test_the_younger_of_two_sessions_on_one_store_is_refused_and_never_run() -> None:
    _two_on_one_store()
    with pytest.raises(SessionStoreError, match="shares its live store with session 'sales'"):
        session_get_or_create(name="Sales")
    with pytest.raises(SessionNameError, match="remove_session"):
        _lease("Sales")
    with pytest.raises(CommandError) as refused:
        call_command("runbot", "--session", "Sales", "--run-once", "--no-scheduler")
    assert str(refused.value).startswith("--session: Session 'Sales' shares its live store with session 'sales'")
    assert Fleet(scheduler=False).wanted() == ["sales"], "--all runs only the session that holds the store"
    assert session_get_or_create(name="sales").name == "sales", "the older one runs as before"


def test_once_the_older_is_removed_the_younger_takes_the_store_key() -> None:
    _two_on_one_store()
    session_remove_everything(name="sales", force=True)
    session = session_get_or_create(name="Sales")
    assert session.store_key == "sales"


def test_removing_the_younger_leaves_the_shared_store_to_the_older(is_postgres: bool) -> None:
    older, younger = _two_on_one_store()
    kept = make_paired_store("sales")
    own = make_paired_store("Sales")  # on SQLite a file of its own; on PostgreSQL the very same schema
    try:
        removed = session_remove_everything(name="Sales", force=True)
        assert kept.health().healthy, "the older session's device is still there"
        if is_postgres:
            assert "live store kept (it is session 'sales''s)" in removed.summary()
        else:
            assert not own.path.exists(), "a file of its own goes with it"
        assert list(WhatsAppSession.objects.values_list("name", flat=True)) == ["sales"]
    finally:
        store_for("sales").wipe()
        store_for("Sales").wipe()


@pytest.mark.django_db(transaction=True)
def test_the_migration_keys_existing_sessions_oldest_first_and_renames_none() -> None:
    executor = MigrationExecutor(connection)
    before, after = (
        [("sessions_store", "0005_backup_archive_id")],
        [("sessions_store", "0006_whatsappsession_store_key")],
    )
    executor.migrate(before)
    try:
        Old = executor.loader.project_state(before).apps.get_model("sessions_store", "WhatsAppSession")  # noqa: N806
        for name in ("Sales", "north", "sales", "a_b", "a-b"):
            Old.objects.create(name=name)
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        keys = dict(WhatsAppSession.objects.values_list("name", "store_key"))
        assert keys == {"Sales": "sales", "north": "north", "sales": None, "a_b": "a_b", "a-b": None}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        WhatsAppSession.objects.all().delete()
