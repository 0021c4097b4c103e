"""Admin: the library list shows previews; "reconvert" rebuilds the selected GIFs."""

from __future__ import annotations

import pytest

from media_cdn.models import GifAsset

pytestmark = pytest.mark.usefixtures("starter")


def test_the_list_shows_a_preview_of_each_gif(admin_client) -> None:
    response = admin_client.get("/admin/media_cdn/gifasset/")
    assert response.status_code == 200
    assert b'src="/gifs/hug.gif"' in response.content


def test_the_detail_page_plays_the_mp4(admin_client) -> None:
    asset = GifAsset.objects.get(name="dance")
    response = admin_client.get(f"/admin/media_cdn/gifasset/{asset.pk}/change/")
    assert response.status_code == 200
    assert b'<video src="/gifs/dance.mp4"' in response.content
    assert b'href="/gifs/dance.webp"' in response.content


def test_the_reconvert_action_rebuilds_the_renditions(admin_client, wiped_media_root) -> None:
    asset = GifAsset.objects.get(name="poke")
    old = set(asset.renditions.values_list("pk", flat=True))
    response = admin_client.post(
        "/admin/media_cdn/gifasset/",
        {"action": "reconvert", "_selected_action": [asset.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"Reconverted 1 GIF(s)." in response.content
    assert old.isdisjoint(asset.renditions.values_list("pk", flat=True))
    assert asset.renditions.count() == 3
