"""The outbox admin: lists, filters and searches; retry and discard each need their own permission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bot import outbox
from bot.models import OutboxItem
from bot.transport.base import Reply

pytestmark = pytest.mark.django_db

URL = "admin:bot_outboxitem_changelist"
Q = OutboxItem.State


def staff(*codenames: str) -> Client:
    user = get_user_model().objects.create_user("op", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="bot", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


def items() -> tuple[int, int]:
    failed, queued = outbox.outbox_enqueue(
        session_name="default",
        replies=[Reply(kind="text", chat="1555@s.whatsapp.net", text=t) for t in ("failed", "queued")],
        now=timezone.now() - timedelta(minutes=5),
    )
    outbox.outbox_mark_failed(item_id=failed, error="not connected (after 5 attempts)")
    return failed, queued


def act(client: Client, action: str, ids: list[int]):
    return client.post(reverse(URL), {"action": action, "_selected_action": [str(i) for i in ids]})


def test_the_outbox_lists_filters_and_searches_and_rows_cannot_be_edited():
    items()
    client = staff("view_outboxitem")
    page = client.get(reverse(URL))
    assert page.status_code == 200
    html = page.content.decode()
    assert "not connected (after 5 attempts)" in html and "5 min" in html  # the error and the age
    assert client.get(reverse(URL), {"state__exact": "failed"}).status_code == 200
    assert client.get(reverse(URL), {"q": "1555"}).status_code == 200
    assert client.get(reverse("admin:bot_outboxitem_add")).status_code == 403


def test_retry_needs_the_retry_permission_and_queues_a_failed_item_again():
    failed, queued = items()
    viewer = staff("view_outboxitem")
    assert "retry_items" not in viewer.get(reverse(URL)).content.decode()
    act(viewer, "retry_items", [failed])
    assert OutboxItem.objects.get(pk=failed).state == Q.FAILED  # refused: no permission
    get_user_model().objects.all().delete()
    retrier = staff("view_outboxitem", "retry_outboxitem")
    page = retrier.get(reverse(URL)).content.decode()
    assert "retry_items" in page and "discard_items" not in page
    act(retrier, "retry_items", [failed, queued])
    item = OutboxItem.objects.get(pk=failed)
    assert (item.state, item.attempts, item.last_error) == (Q.QUEUED, 0, "")
    act(retrier, "discard_items", [queued])
    assert OutboxItem.objects.get(pk=queued).state == Q.QUEUED  # discard is a permission of its own


def test_discard_needs_the_discard_permission_and_keeps_the_row_marked():
    failed, queued = items()
    client = staff("view_outboxitem", "discard_outboxitem")
    act(client, "discard_items", [failed, queued])
    rows = dict(OutboxItem.objects.values_list("pk", "state"))
    assert rows == {failed: Q.DISCARDED, queued: Q.DISCARDED}
    assert OutboxItem.objects.get(pk=queued).last_error == "discarded by op"
