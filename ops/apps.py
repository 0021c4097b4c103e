"""App config of the operations pages; loaded by the web dyno (gunicorn), never by the bot child."""

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations pages"
