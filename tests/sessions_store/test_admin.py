"""The admin shows sessions and backups, never the archive bytes or secrets."""

from __future__ import annotations

import pytest

from sessions_store.services import backup_create

from .factories import make_paired_store

pytestmark = pytest.mark.django_db


def test_the_backup_admin_shows_sizes_and_checksum_but_not_the_archive(admin_client):
    make_paired_store("admin")
    backup = backup_create(session_name="admin", reason="manual")
    listing = admin_client.get("/admin/sessions_store/sessionbackup/")
    assert listing.status_code == 200 and b"manual" in listing.content
    page = admin_client.get(f"/admin/sessions_store/sessionbackup/{backup.pk}/change/")
    assert page.status_code == 200
    assert backup.sha256.encode() in page.content
    assert b'name="archive"' not in page.content and b"id_archive" not in page.content
    assert admin_client.get("/admin/sessions_store/sessionbackup/add/").status_code == 403


def test_the_session_admin_lists_the_session(admin_client):
    make_paired_store("listed")
    backup_create(session_name="listed", reason="manual")
    page = admin_client.get("/admin/sessions_store/whatsappsession/")
    assert page.status_code == 200 and b"listed" in page.content
