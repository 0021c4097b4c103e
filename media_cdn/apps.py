from django.apps import AppConfig


class MediaCdnConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "media_cdn"
