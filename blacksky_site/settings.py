"""Django settings for BLACKSKY-MD.

Everything that differs between machines comes from the environment through
:mod:`blacksky_site.config` (declared there with default and meaning; `.env.example` lists them).
A `.env` file in the project root is read first when present; real environment variables win.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import environ

from blacksky_site import config, public_url
from blacksky_site.variables import languages

BASE_DIR = Path(__file__).resolve().parent.parent

if os.environ.get("BLACKSKY_DOTENV", "1") != "0":
    environ.Env.read_env(BASE_DIR / ".env")  # existing environment variables take precedence

env = config.get

DEBUG: bool = env("DEBUG")
SECRET_KEY: str = env("SECRET_KEY")
# Without a key the settings still load, so a build (collectstatic, before Heroku's config vars
# exist) works; gunicorn and runbot stop at start with one sentence (blacksky_site/secret_key.py).
if not SECRET_KEY and DEBUG:
    # Local development without a key: one generated for this checkout and kept out of git (var/
    # is ignored), stable across restarts so sessions and SECRET_KEY-derived backup keys survive.
    _dev_key = BASE_DIR / "var" / "dev-secret-key"
    if not _dev_key.exists():
        _dev_key.parent.mkdir(parents=True, exist_ok=True)
        _dev_key.write_text(secrets.token_urlsafe(50))
        _dev_key.chmod(0o600)
    SECRET_KEY = _dev_key.read_text().strip()

# One public address for the host check, the CSRF origins and every link the bot prints: PUBLIC_URL,
# else Heroku's app domain from the dyno metadata (random suffix included), else 127.0.0.1:$PORT.
PUBLIC_URL: str = public_url.public_url_from_env()
ALLOWED_HOSTS: list[str] = list(dict.fromkeys([*env("ALLOWED_HOSTS"), public_url.public_host(PUBLIC_URL)]))
CSRF_TRUSTED_ORIGINS: list[str] = list(
    dict.fromkeys([*env("CSRF_TRUSTED_ORIGINS"), public_url.public_origin(PUBLIC_URL)])
)

# CLOUD_MODE: explicit value wins; otherwise on when running on a Heroku dyno.
_cloud = os.environ.get("CLOUD_MODE", "").strip()
CLOUD_MODE: bool = env("CLOUD_MODE") if _cloud else bool(os.environ.get("DYNO"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_q",
    "sessions_store",
    "bot",
    "media_cdn",
    "ops",
    "axes",  # login throttling for /admin/ (web only)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "blacksky_site.database_outage.DatabaseOutageMiddleware",  # no database: 503 and one line, no traceback
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: it turns a lockout into its answer
]

# Login throttling (django-axes): 5 failed logins for one username from one address lock that pair
# for 15 minutes; a success resets the count. Attempts live in the database (web dynos share it).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "blacksky_site.client_ip.client_ip"
AXES_HTTP_RESPONSE_CODE = 429

# The bot child (`runbot --child`, started by the supervisor) needs the ORM and nothing of the web
# or the scheduler: without the admin, sessions, messages, static files and django-q2 it starts
# with ~4 MiB less, which counts on a 512 MB dyno (bench/memory.py).
BOT_CHILD: bool = os.environ.get("BLACKSKY_PROCESS") == "bot-child"
if BOT_CHILD:
    INSTALLED_APPS = [
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "sessions_store",
        "bot",
        "media_cdn",
    ]
    MIDDLEWARE = []

ROOT_URLCONF = "blacksky_site.urls"
WSGI_APPLICATION = "blacksky_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: persistent connections with health checks (Heroku Postgres drops idle ones).
DATABASE_URL: str = env("DATABASE_URL")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
# A database that refuses or hangs is an outage the bot rides through, never a thread stuck for
# minutes: every connection gets a connect, statement and TCP bound of a few seconds. The
# server-side statement_timeout covers a slow server; blacksky_site.db_deadline cuts a query whose
# server stopped answering at all (the kernel still acknowledges, so no TCP timeout fires).
DB_CONNECT_TIMEOUT: float = env("DB_CONNECT_TIMEOUT")
DB_STATEMENT_TIMEOUT: float = env("DB_STATEMENT_TIMEOUT")
DB_TCP_TIMEOUT: float = env("DB_TCP_TIMEOUT")
# A schema change may rightly run for minutes (an index on a big table): `manage.py migrate` (the
# release phase) runs without the statement bound; the connect and TCP bounds stay.
DB_STATEMENT_BOUND: float | None = None if sys.argv[1:2] == ["migrate"] else DB_STATEMENT_TIMEOUT
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Several writer processes (web, worker, bot child, django-q2) share the file. IMMEDIATE: a
    # transaction takes the write lock when it begins, so it waits up to `timeout` s (the busy
    # timeout, bounded like a statement) for it; a deferred one that read first and then writes gets
    # "database is locked" at once, because waiting could deadlock, and the busy timeout never applies.
    # Not WAL: with it the file cannot even be opened on a full disk (the -shm file cannot be
    # created), where the rollback journal still reads and fails a write with "database or disk is
    # full", which the backup and restore paths recognise; writers queue either way.
    _db_options.update({"timeout": DB_STATEMENT_TIMEOUT, "transaction_mode": "IMMEDIATE"})
else:
    _keepalive = max(1, int(DB_TCP_TIMEOUT // 4))  # idle + 3 probes ~ DB_TCP_TIMEOUT
    _db_options.update(
        connect_timeout=max(2, int(DB_CONNECT_TIMEOUT)),  # libpq's minimum is 2 s
        keepalives=1,
        keepalives_idle=_keepalive,
        keepalives_interval=_keepalive,
        keepalives_count=3,
        tcp_user_timeout=int(DB_TCP_TIMEOUT * 1000),  # unacknowledged sends, in ms
    )
    if DB_STATEMENT_BOUND is not None:
        _statement = f"-c statement_timeout={int(DB_STATEMENT_BOUND * 1000)}"
        _db_options["options"] = f"{_db_options['options']} {_statement}" if _db_options.get("options") else _statement
DB_IS_POSTGRES: bool = DATABASES["default"]["ENGINE"].endswith("postgresql")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Replies go through Django's translation: English in the code, the other languages in locale/
# (committed .po and compiled .mo). BOT_LANG is a session's language, `.lang` a chat's own.
LANGUAGE_CODE = "en"
LANGUAGES = list(languages.LANGUAGES.items())
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files: whitenoise, compressed with hashed names.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGIN_URL = "/admin/login/"

# Behind Heroku's router: trust its X-Forwarded-Proto, force HTTPS, secure cookies, HSTS.
# HTTPS_ONLY defaults to CLOUD_MODE so that `make run` on http://127.0.0.1 still logs in.
_https = os.environ.get("HTTPS_ONLY", "").strip()
HTTPS_ONLY: bool = (env("HTTPS_ONLY") if _https else CLOUD_MODE) and not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # uptime monitors may probe over plain HTTP
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
SECURE_HSTS_SECONDS = 31536000 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
SECURE_HSTS_PRELOAD = HTTPS_ONLY
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Logging: one line per record on stdout, `key=value` extras, secrets redacted.
LOG_LEVEL: str = env("LOG_LEVEL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "blacksky_site.logging.RedactSecretsFilter"},
        "disallowed_host": {"()": "blacksky_site.logging.DisallowedHostLine"},
    },
    "formatters": {"line": {"()": "blacksky_site.logging.KeyValueFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "line",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # A scanner's Host header: one WARNING line each, not an ERROR with a traceback.
        "django.security.DisallowedHost": {"filters": ["disallowed_host"]},
        # whatsmeow's Go logs arrive through these loggers (note the capital W of the database one).
        "whatsmeow": {"level": LOG_LEVEL},
        "Whatsmeow": {"level": LOG_LEVEL},
        "neonize": {"level": "WARNING" if LOG_LEVEL in {"INFO", "DEBUG"} else LOG_LEVEL},
        # Renditions carry their duration and thumbnail from ingest: sending never runs ffprobe, so
        # neonize's "ffmpeg not found" warning on every child start is noise.
        "neonize.utils.ffmpeg": {"level": "ERROR"},
        # httpx logs every request's full URL at INFO, and webhook receivers put tokens in the path or
        # query: our own lines name the host only (bot/webhooks.py).
        "httpx": {"level": "WARNING"},
        # django-axes: its start-up banner and every attempt at INFO; lockouts stay (WARNING).
        "axes": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- BLACKSKY-MD runtime settings (meanings in blacksky_site/variables/) ---
SESSION_BACKUP_INTERVAL: int = env("SESSION_BACKUP_INTERVAL")
SESSION_BACKUP_KEEP: int = env("SESSION_BACKUP_KEEP")
SESSION_ENCRYPTION_KEY: str = env("SESSION_ENCRYPTION_KEY")
SESSION_ENCRYPTION_OLD_KEYS: list[str] = env("SESSION_ENCRYPTION_OLD_KEYS")
WA_STORE_DIR: Path = (BASE_DIR / env("WA_STORE_DIR")).resolve()
WA_PROXY: str = env("WA_PROXY")
WA_SESSION_DATA: str = env("WA_SESSION_DATA")
WA_CREDENTIALS: str = env("WA_CREDENTIALS")
WA_AUTH_STATE: str = env("WA_AUTH_STATE")
HEROKU_API_KEY: str = env("HEROKU_API_KEY")
HEROKU_APP_NAME: str = env("HEROKU_APP_NAME")
HEROKU_APP_DEFAULT_DOMAIN_NAME: str = env("HEROKU_APP_DEFAULT_DOMAIN_NAME")
HEROKU_API_URL: str = env("HEROKU_API_URL")
BOT_NAME: str = env("BOT_NAME")
BOT_PREFIX: str = env("BOT_PREFIX") or "."
OWNER_NUMBERS: list[str] = env("OWNER_NUMBERS")
BOT_LANG: str = env("BOT_LANG")
SESSION_ID: str = env("SESSION_ID")  # another bot's: only read to say it cannot be used (bot/foreign_session.py)
SUDO_NUMBERS: list[str] = env("SUDO_NUMBERS")
BOT_MODE: str = env("BOT_MODE")
REJECT_CALLS: bool = env("REJECT_CALLS")
CALL_REJECT_MESSAGE: str = env("CALL_REJECT_MESSAGE")
CALL_ALLOW: list[str] = env("CALL_ALLOW")
PRESENCE: str = env("PRESENCE")
READ_RECEIPTS: bool = env("READ_RECEIPTS")
AUTO_STATUS_VIEW: bool = env("AUTO_STATUS_VIEW")
STATUS_VIEW_ALLOW: list[str] = env("STATUS_VIEW_ALLOW")
STATUS_VIEW_DENY: list[str] = env("STATUS_VIEW_DENY")
OUTBOUND_PER_MINUTE: float = env("OUTBOUND_PER_MINUTE")
OUTBOUND_CHAT_PER_MINUTE: float = env("OUTBOUND_CHAT_PER_MINUTE")
TYPING_SECONDS: float = env("TYPING_SECONDS")
OUTBOX_MAX_AGE_SECONDS: int = env("OUTBOX_MAX_AGE_SECONDS")
USER_COMMANDS_PER_MINUTE: float = env("USER_COMMANDS_PER_MINUTE")
BOT_PLUGINS: list[str] = env("BOT_PLUGINS")
BOT_PLUGINS_DISABLED: list[str] = env("BOT_PLUGINS_DISABLED")
PACK_MAX_FAILURES: int = env("PACK_MAX_FAILURES")
PACK_RATE_PER_MINUTE: int = env("PACK_RATE_PER_MINUTE")
USER_COMMANDS_BURST: int = env("USER_COMMANDS_BURST")
GROUP_CACHE_TTL: int = env("GROUP_CACHE_TTL")
WARN_LIMIT: int = env("WARN_LIMIT")
WARN_DECAY_DAYS: int = env("WARN_DECAY_DAYS")
MAX_RECONNECT_ATTEMPTS: int = env("MAX_RECONNECT_ATTEMPTS")
RECONNECT_BASE_SECONDS: float = env("RECONNECT_BASE_SECONDS")
RECONNECT_CAP_SECONDS: float = env("RECONNECT_CAP_SECONDS")
MEMORY_LIMIT_MB: int = env("MEMORY_LIMIT_MB")
CHILD_RESTART_LIMIT: int = env("CHILD_RESTART_LIMIT")
LEASE_TTL: int = env("LEASE_TTL")
STANDBY_PREWARM: bool = env("STANDBY_PREWARM")
HEARTBEAT_TIMEOUT: int = env("HEARTBEAT_TIMEOUT")
SHUTDOWN_GRACE: int = env("SHUTDOWN_GRACE")
PLANNED_RESTART_AT: str = env("PLANNED_RESTART_AT")
OUTAGE_ALERT_MINUTES: int = env("OUTAGE_ALERT_MINUTES")
LIVENESS_INTERVAL: int = env("LIVENESS_INTERVAL")
LIVENESS_TIMEOUT: int = env("LIVENESS_TIMEOUT")
LIVENESS_FAILURES: int = env("LIVENESS_FAILURES")
DEAF_RESTARTS: int = env("DEAF_RESTARTS")
UNDECRYPTABLE_ALERT_COUNT: int = env("UNDECRYPTABLE_ALERT_COUNT")
UNDECRYPTABLE_ALERT_MINUTES: int = env("UNDECRYPTABLE_ALERT_MINUTES")
CONNECTION_WEBHOOK_URL: str = env("CONNECTION_WEBHOOK_URL")
CONNECTION_WEBHOOK_SECRET: str = env("CONNECTION_WEBHOOK_SECRET")
STATS_TOKEN: str = env("STATS_TOKEN")
EVENT_RETENTION_DAYS: int = env("EVENT_RETENTION_DAYS")
ANTIDELETE_TTL_HOURS: int = env("ANTIDELETE_TTL_HOURS")
ANTIDELETE_MAX_PER_CHAT: int = env("ANTIDELETE_MAX_PER_CHAT")
ANTIDELETE_MAX_PER_SESSION: int = env("ANTIDELETE_MAX_PER_SESSION")
USE_CDN_MEDIA: bool = env("USE_CDN_MEDIA")
MEDIA_CDN_URL: str = env("MEDIA_CDN_URL")
MEDIA_CACHE_MB: int = env("MEDIA_CACHE_MB")
MEDIA_ROOT: Path = (BASE_DIR / env("MEDIA_ROOT")).resolve()
MEDIA_STARTER_PACK: bool = env("MEDIA_STARTER_PACK")
REDIS_URL: str = env("REDIS_URL")
TEMP_DIR: str = env("TEMP_DIR")
TEMP_DIR_MAX_MB: int = env("TEMP_DIR_MAX_MB")
SCHEDULE_TIME_ZONE: str = env("SCHEDULE_TIME_ZONE")
SCHEDULE_MISSED_MAX_MINUTES: int = env("SCHEDULE_MISSED_MAX_MINUTES")
SCHEDULE_MAX_PER_CHAT: int = env("SCHEDULE_MAX_PER_CHAT")
STICKER_PACK: str = env("STICKER_PACK")
STICKER_AUTHOR: str = env("STICKER_AUTHOR")
STICKER_MAX_DOWNLOAD_MB: int = env("STICKER_MAX_DOWNLOAD_MB")

# django-q2: the ORM broker on the project database unless REDIS_URL is set.
# catch_up=False: a daily dyno restart must not fire a burst of missed runs.
# timeout < retry: a task is never re-queued while it may still be running.
Q_CLUSTER: dict = {
    "name": "blacksky",
    "workers": env("Q_WORKERS"),
    "timeout": 300,
    "retry": 360,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 250,
    "ack_failures": True,
    "label": "Scheduled tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
