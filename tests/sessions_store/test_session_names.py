"""One store per session: names that PostgreSQL would fold into one schema ('Sales' and 'sales',
'a-b' and 'a_b') are refused at creation with a sentence naming the session that has it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions_store.models import WhatsAppSession
from sessions_store.services import SessionStoreError, session_get_or_create, session_name_check
from sessions_store.store import PostgresStore, SqliteStore, store_key

pytestmark = pytest.mark.django_db

NAMES = st.text(alphabet="abcAB019-_", min_size=1, max_size=12)


@pytest.mark.parametrize(("first", "second"), [("sales", "Sales"), ("a-b", "a_b"), ("Bot-1", "bot_1")])
def test_a_name_whose_store_is_taken_is_refused_naming_the_owner(first: str, second: str) -> None:
    session_get_or_create(name=first)
    with pytest.raises(SessionStoreError) as refused:
        session_get_or_create(name=second)
    assert f"session {first!r}" in str(refused.value) and f"{second!r} is taken" in str(refused.value)
    assert list(WhatsAppSession.objects.values_list("name", flat=True)) == [first]
    assert session_get_or_create(name=first).name == first  # the existing one is found as before


def test_an_invalid_name_is_one_sentence() -> None:
    with pytest.raises(SessionStoreError, match="must be 1-48 letters"):
        session_name_check("no spaces")


@given(names=st.lists(NAMES, min_size=1, max_size=8))
@settings(max_examples=150, deadline=None)
def test_whatever_names_are_asked_for_the_sessions_map_one_to_one_onto_stores(names: list[str]) -> None:
    WhatsAppSession.objects.all().delete()
    for name in names:
        try:
            session_get_or_create(name=name)
        except SessionStoreError:
            pass
    made = list(WhatsAppSession.objects.values_list("name", flat=True))
    schemas = {PostgresStore(name).schema for name in made}
    files = {str(SqliteStore(name).path).lower() for name in made}  # a case-insensitive disk, too
    assert len(schemas) == len(made) == len(files) == len({store_key(n) for n in made})


def test_runbot_refuses_a_clashing_session_before_starting_anything() -> None:
    from django.core.management import CommandError, call_command

    WhatsAppSession.objects.create(name="sales")
    with pytest.raises(CommandError) as refused:
        call_command("runbot", "--session", "Sales", "--run-once", "--no-scheduler")
    assert str(refused.value).startswith("--session: Session name 'Sales' is taken")
    assert not WhatsAppSession.objects.filter(name="Sales").exists()
