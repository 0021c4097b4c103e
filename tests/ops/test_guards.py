"""Who may see each operations page: `@stats_access` on /stats and /metrics, staff login on the
staff pages, /healthz and /favicon.ico open to all. One row per rule."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from bot.models import BotStatus
from ops import urls
from ops.guards import stats_access

pytestmark = pytest.mark.django_db

TOKEN = "stats-token-for-tests-0123456789"
GUARDED = ["/stats", "/metrics"]


def client_of(who: str) -> Client:
    """A client for "anonymous", a logged-in non-staff "member", or "staff"."""
    client = Client()
    if who != "anonymous":
        user = get_user_model().objects.create_user(who, password="pw", is_staff=who == "staff")
        client.force_login(user)
    return client


def _headers(authorization: str | None) -> dict[str, str]:
    return {"Authorization": authorization} if authorization is not None else {}


# (who, Authorization header or None, STATS_TOKEN configured, status)
ACCESS_RULES = [
    pytest.param("anonymous", f"Bearer {TOKEN}", TOKEN, 200, id="token-ok"),
    pytest.param("anonymous", f"bearer {TOKEN}", TOKEN, 200, id="token-ok-scheme-any-case"),
    pytest.param("member", f"Bearer {TOKEN}", TOKEN, 200, id="token-ok-judged-alone-for-non-staff"),
    pytest.param("anonymous", "Bearer nope", TOKEN, 401, id="token-wrong"),
    pytest.param("staff", "Bearer nope", TOKEN, 401, id="token-wrong-even-with-staff-session"),
    pytest.param("staff", f"Basic {TOKEN}", TOKEN, 401, id="token-under-another-scheme"),
    pytest.param("anonymous", "Bearer ", "", 401, id="no-token-configured-no-token-works"),
    pytest.param("anonymous", f"Bearer {TOKEN}", "", 401, id="no-token-configured-old-token-refused"),
    pytest.param("anonymous", None, TOKEN, 401, id="no-token"),
    pytest.param("member", None, TOKEN, 403, id="no-token-non-staff-session"),
    pytest.param("staff", None, TOKEN, 200, id="no-token-staff-session"),
    pytest.param("staff", None, "", 200, id="staff-session-without-configured-token"),
]


@pytest.mark.parametrize("url", GUARDED)
@pytest.mark.parametrize(("who", "authorization", "configured", "status"), ACCESS_RULES)
def test_stats_access_rule(settings, url: str, who: str, authorization: str | None, configured: str, status: int):
    settings.STATS_TOKEN = configured
    response = client_of(who).get(url, headers=_headers(authorization))
    assert response.status_code == status
    assert "no-store" in response["Cache-Control"]  # refusals are not cached either
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="stats"'
    else:
        assert not response.has_header("WWW-Authenticate")
    if status == 403:
        assert response.json() == {"error": "staff only"}


@pytest.mark.parametrize("url", GUARDED)
def test_the_method_is_checked_before_access(url: str) -> None:
    assert Client().post(url).status_code == 405


def test_the_token_never_reaches_a_log_line(client: Client, settings, caplog) -> None:
    settings.STATS_TOKEN = TOKEN
    caplog.set_level("DEBUG")
    client.get("/stats", headers={"Authorization": f"Bearer {TOKEN}"})
    client.get("/stats", headers={"Authorization": "Bearer wrong-token"})
    assert TOKEN not in caplog.text
    assert "wrong-token" not in caplog.text


@pytest.mark.parametrize("who", ["anonymous", "member"])
@pytest.mark.parametrize("authorization", [None, f"Bearer {TOKEN}"])
@pytest.mark.parametrize("url", ["/dashboard/", "/pair/"])
def test_the_stats_token_does_not_open_the_staff_pages(settings, who: str, authorization: str | None, url: str):
    settings.STATS_TOKEN = TOKEN
    response = client_of(who).get(url, headers=_headers(authorization))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("who", ["anonymous", "member"])
@pytest.mark.parametrize("authorization", [None, "Bearer nope"])
def test_healthz_stays_open(settings, who: str, authorization: str | None) -> None:
    settings.STATS_TOKEN = TOKEN
    now = timezone.now()
    BotStatus.objects.create(session_name="default", state="connected", state_since=now, last_heartbeat_at=now)
    response = client_of(who).get("/healthz", headers=_headers(authorization))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "sessions": {"default": "ok"}}


# What an anonymous visitor without a token gets from each URL name: a new page must add its row.
ANONYMOUS = {
    "landing": "open",
    "healthz": "open",
    "favicon": "open",
    "stats": "stats_access",
    "metrics": "stats_access",
    "dashboard": "staff login",
    "pair": "staff login",
}


def test_every_ops_url_declares_who_may_see_it(settings) -> None:
    settings.STATS_TOKEN = TOKEN
    assert {pattern.name for pattern in urls.urlpatterns} == set(ANONYMOUS)
    for name, access in ANONYMOUS.items():
        response = Client().get(reverse(name))
        if access == "open":
            assert response.status_code in (200, 302, 503) and "/admin/login/" not in response.get("Location", ""), name
        elif access == "stats_access":
            assert response.status_code == 401, name
        else:
            assert response.status_code == 302 and "/admin/login/" in response["Location"], name


def test_the_guard_passes_arguments_through_and_keeps_the_view_name(settings) -> None:
    settings.STATS_TOKEN = TOKEN
    calls = []

    @stats_access
    def view(request, *args, **kwargs):
        calls.append((args, kwargs))
        return "answered"

    request = RequestFactory().get("/x", headers={"Authorization": f"Bearer {TOKEN}"})
    request.user = AnonymousUser()
    assert view(request, 1, session="default") == "answered"
    assert calls == [((1,), {"session": "default"})]
    assert view.__name__ == "view"
    refused = RequestFactory().get("/x")
    refused.user = AnonymousUser()
    assert view(refused).status_code == 401
    assert len(calls) == 1  # a refused request never reaches the view
