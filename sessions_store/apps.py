from django.apps import AppConfig


class SessionsStoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sessions_store"

    def ready(self) -> None:
        from sessions_store import checks  # noqa: F401  registers the check of sessions sharing a store
