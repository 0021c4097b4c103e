from django.apps import AppConfig


class MediaCdnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media_cdn"
    verbose_name = "Reaction GIFs"

    def ready(self) -> None:
        from media_cdn import resolver  # noqa: F401  (connects its setting_changed receiver)
