from django.apps import AppConfig


class SessionsStoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sessions_store"
