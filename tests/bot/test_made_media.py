"""Media the bot made for a reply: stored with the reply, loaded checked, gone once sent or too old."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bot.made_media import made_media_forget, made_media_load, made_media_prune, made_media_store
from bot.models import MadeMedia
from bot.retention import prune_all
from media_cdn.media import Media

pytestmark = pytest.mark.django_db


def test_a_made_sticker_is_loaded_as_stored_and_a_damaged_one_not_at_all():
    asset = made_media_store(session_name="s", kind="sticker", media=Media(data=b"RIFFwebp", mimetype="image/webp"))
    media = made_media_load(asset)
    assert (media.data, media.mimetype, media.asset) == (b"RIFFwebp", "image/webp", asset)
    MadeMedia.objects.update(data=b"RIFFwebq")
    assert made_media_load(asset) is None
    assert made_media_load("made:abc") is None and made_media_load("made:999999") is None
    assert made_media_forget(asset) == 1 and MadeMedia.objects.count() == 0


def test_retention_removes_rows_past_the_outbox_age_limit(settings):
    settings.OUTBOX_MAX_AGE_SECONDS = 600
    made_media_store(session_name="s", kind="image", media=Media(data=b"new", mimetype="image/png"))
    made_media_store(session_name="s", kind="image", media=Media(data=b"old", mimetype="image/png"))
    MadeMedia.objects.filter(sha256__isnull=False, data=b"old").update(created_at=timezone.now() - timedelta(hours=2))
    assert made_media_prune(now=timezone.now()) == {"made_media": 1}
    assert prune_all()["made_media"] == 0 and MadeMedia.objects.count() == 1
