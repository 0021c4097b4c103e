from django.apps import AppConfig


class BotConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "bot"

    def ready(self) -> None:
        # The bot app is installed in every process (web, worker, child): each connection it opens
        # gets the client-side statement bound (a database that hangs must not hang us).
        from django.db.backends.signals import connection_created

        from blacksky_site.db_deadline import install

        connection_created.connect(install, dispatch_uid="blacksky_db_deadline")
