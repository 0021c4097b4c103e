import sys

from django.apps import AppConfig
from django.core.signals import setting_changed

MEDIA_SETTINGS = {"MEDIA_CDN_URL", "USE_CDN_MEDIA", "MEDIA_CACHE_MB", "MEDIA_ROOT"}


def _media_settings_changed(*, setting: str, **kwargs) -> None:
    """Rebuild the process resolver when a test (or override_settings) changes a media setting.

    Only if the resolver was imported: start-up never pays for httpx or Pillow because of this.
    """
    resolver = sys.modules.get("media_cdn.resolver")
    if setting in MEDIA_SETTINGS and resolver is not None:
        resolver.resolver_reset()


class MediaCdnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media_cdn"
    verbose_name = "Reaction GIFs"

    def ready(self) -> None:
        setting_changed.connect(_media_settings_changed, dispatch_uid="media_cdn.settings_changed")
