"""/admin/ login attempts are throttled (django-axes): 5 failures for one username from one address
lock that pair out for 15 minutes, even with the right password; the client address behind Heroku's
router is the one the router saw, not one the client claims."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
RIGHT = "correct horse battery staple"


@pytest.fixture(autouse=True)
def staff() -> None:
    get_user_model().objects.create_user("ops", password=RIGHT, is_staff=True)


def attempt(password: str, *, ip: str = "203.0.113.7", forwarded: str | None = None) -> int:
    meta = {"REMOTE_ADDR": ip}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    response = Client().post(LOGIN, {"username": "ops", "password": password}, **meta)
    return response.status_code


def test_five_failures_lock_out_even_the_right_password_then_the_cool_off_ends_it() -> None:
    assert [attempt("wrong") for _ in range(5)][-1] in {200, 429}
    assert attempt(RIGHT) == 429
    assert attempt(RIGHT, ip="198.51.100.2") == 302  # another address is not locked out
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert attempt(RIGHT) == 302


def test_a_success_resets_the_count() -> None:
    for _ in range(4):
        assert attempt("wrong") == 200
    assert attempt(RIGHT) == 302
    for _ in range(4):
        assert attempt("wrong") == 200
    assert attempt(RIGHT) == 302


def test_behind_the_router_a_forged_forwarded_for_does_not_escape_the_lock(settings) -> None:
    settings.CLOUD_MODE = True
    router = "10.1.2.3"
    for n in range(5):  # the client claims a new address each time; the router's entry is the last
        attempt("wrong", ip=router, forwarded=f"192.0.2.{n}, 203.0.113.7")
    assert attempt(RIGHT, ip=router, forwarded="192.0.2.99, 203.0.113.7") == 429
    assert attempt(RIGHT, ip=router, forwarded="203.0.113.8") == 302  # a real other client
