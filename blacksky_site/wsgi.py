"""WSGI entry point for gunicorn (`gunicorn blacksky_site.wsgi`). Never imports neonize."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

try:
    from django.core.wsgi import get_wsgi_application

    from blacksky_site.secret_key import secret_key_require

    application = get_wsgi_application()
    secret_key_require()  # serving signs sessions and CSRF tokens: no key, no web app

    from blacksky_site.database_outage import database_check_at_boot

    database_check_at_boot()  # one line if the database is away; the worker serves (503) meanwhile
except ImproperlyConfigured as exc:
    sys.stderr.write(f"configuration error: {exc}\n")
    sys.stderr.flush()
    # 3 is gunicorn's worker boot error: the master stops instead of respawning workers for ever.
    sys.exit(3)
