"""Settings for the test run: the real settings with a test secret and no .env file.

DATABASE_URL still decides SQLite or PostgreSQL, so the same suite runs on both.
"""

import os
import tempfile

os.environ["BLACKSKY_DOTENV"] = "0"
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("WA_STORE_DIR", tempfile.mkdtemp(prefix="blacksky-test-wa-"))
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="blacksky-test-media-"))

from blacksky_site.settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from the finders (no collectstatic before the run).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
