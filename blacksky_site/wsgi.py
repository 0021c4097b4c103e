"""WSGI entry point for gunicorn (`gunicorn blacksky_site.wsgi`). Never imports neonize."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "blacksky_site.settings")

application = get_wsgi_application()
