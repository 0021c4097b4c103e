"""The platform's environment variables: database, web, worker, sessions, media and queue.

Imported by ``blacksky_site.config`` (which joins every declaration module into ``VARIABLES``);
declare a new variable here or in the module of its concern, never twice.
"""

from __future__ import annotations

from blacksky_site.config_parsers import (
    parse_b64_key,
    parse_b64_keys,
    parse_bool,
    parse_database_url,
    parse_digits_list,
    parse_dir,
    parse_heroku_app_name,
    parse_hhmm,
    parse_host_list,
    parse_log_level,
    parse_number_between,
    parse_origin_list,
    parse_outbox_age,
    parse_prefix,
    parse_project_dir,
    parse_proxy_url,
    parse_redis_url,
    parse_seconds,
    parse_str,
    parse_text,
    parse_token,
    parse_url,
    parse_whole_between,
)
from blacksky_site.public_url import parse_host_name, parse_origin_url
from blacksky_site.variables import Alias, Variable, alias_handlers

PLATFORM: tuple[Variable, ...] = (
    # core
    Variable(
        "DATABASE_URL",
        parse_database_url,
        "sqlite:///db.sqlite3",
        "Django database; Heroku Postgres sets it. SQLite when unset.",
    ),
    Variable(
        "SECRET_KEY",
        parse_str,
        "",
        "Django signing key; gunicorn and runbot need it (a build does not). `make run` generates one into .env.",
        secret=True,
    ),
    Variable("DB_CONNECT_TIMEOUT", parse_seconds(2, 60), "5", "Seconds a new database connection may take."),
    Variable(
        "DB_STATEMENT_TIMEOUT",
        parse_seconds(1, 600),
        "5",
        "Seconds one database statement may take (server-side and client-side); SQLite: its busy timeout.",
    ),
    Variable("DB_TCP_TIMEOUT", parse_seconds(2, 120), "10", "Seconds of silence before a database TCP link is dead."),
    Variable("DEBUG", parse_bool, "false", "Development mode. Never true in production."),
    Variable(
        "ALLOWED_HOSTS",
        parse_host_list,
        "localhost,127.0.0.1,.herokuapp.com",
        "Comma-separated host names the web app answers to.",
    ),
    Variable(
        "PUBLIC_URL",
        parse_origin_url,
        "",
        "The web app's address for the host check and every link; empty = Heroku's app domain, else 127.0.0.1:$PORT.",
    ),
    Variable(
        "CSRF_TRUSTED_ORIGINS",
        parse_origin_list,
        "",
        "Comma-separated https:// origins allowed to POST forms (custom domains).",
    ),
    Variable(
        "CLOUD_MODE",
        parse_bool,
        "",
        "Cloud behaviour (restore the session on start, back up on shutdown). Empty = on when DYNO is set.",
    ),
    Variable(
        "HTTPS_ONLY",
        parse_bool,
        "",
        "Redirect to HTTPS, secure cookies, HSTS. Empty = on in CLOUD_MODE (behind Heroku's router).",
    ),
    Variable("LOG_LEVEL", parse_log_level, "INFO", "Log level for the project and for whatsmeow's Go logs."),
    # sessions
    Variable(
        "SESSION_BACKUP_INTERVAL",
        parse_whole_between(1, 1440, "minutes"),
        "15",
        "Minutes between scheduled session backups.",
    ),
    Variable(
        "SESSION_BACKUP_KEEP", parse_whole_between(1, 1000, "backups"), "10", "Verified backups kept per session."
    ),
    Variable(
        "SESSION_ENCRYPTION_KEY",
        parse_b64_key,
        "",
        "Base64 of 32 bytes for AES-256-GCM backups; empty = derived from SECRET_KEY.",
        secret=True,
    ),
    Variable(
        "SESSION_ENCRYPTION_OLD_KEYS",
        parse_b64_keys,
        "",
        "Comma-separated previous encryption keys: their backups still restore (key rotation).",
        secret=True,
    ),
    Variable(
        "WA_STORE_DIR",
        parse_project_dir,
        "var/wa",
        "Directory of the SQLite WhatsApp stores (when DATABASE_URL is SQLite).",
    ),
    Variable(
        "WA_PROXY", parse_proxy_url, "", "Proxy for the WhatsApp connection (http:// or socks5://); empty = direct."
    ),
    Variable("WA_SESSION_DATA", parse_str, "", "Whole encrypted session archive (export_session --env).", secret=True),
    Variable("WA_CREDENTIALS", parse_str, "", "Encrypted device identity: enough to log in without a QR.", secret=True),
    Variable("WA_AUTH_STATE", parse_str, "", "Encrypted app-state sync keys and versions.", secret=True),
    Variable(
        "HEROKU_API_KEY",
        parse_str,
        "",
        "Heroku Platform API token: config-var session storage and planned dyno restarts.",
        secret=True,
    ),
    Variable("HEROKU_APP_NAME", parse_heroku_app_name, "", "Heroku app name for the Platform API calls."),
    Variable(
        "HEROKU_APP_DEFAULT_DOMAIN_NAME",
        parse_host_name,
        "",
        "Set by Heroku's dyno metadata (heroku labs:enable runtime-dyno-metadata); derives PUBLIC_URL.",
    ),
    Variable(
        "HEROKU_API_URL", parse_url, "https://api.heroku.com", "Heroku Platform API base URL (overridable for tests)."
    ),
    # runtime
    Variable("BOT_NAME", parse_text(1, 64), "BLACKSKY-MD", "Name the bot uses in replies and the menu.", chat=True),
    Variable(
        "BOT_PREFIX",
        parse_prefix,
        ".",
        "Command prefix characters; several allowed, e.g. `.!`.",
        chat=True,
        aliases=(
            Alias("PREFIX", alias_handlers, "`^[.,!]` and `[.!]` are read as their characters"),
            Alias("HANDLERS", alias_handlers, "`^[.,!]` and `[.!]` are read as their characters"),
        ),
    ),
    Variable(
        "OWNER_NUMBERS",
        parse_digits_list,
        "",
        "Comma-separated owner phone numbers (digits). Empty = nobody is owner.",
        chat=True,
    ),
    Variable(
        "OUTBOUND_PER_MINUTE",
        parse_number_between(0, 6000, "messages a minute"),
        "40",
        "Messages the bot sends per minute at most, all chats together (anti-ban pacing); 0 = no pacing.",
    ),
    Variable(
        "OUTBOUND_CHAT_PER_MINUTE",
        parse_number_between(0, 6000, "messages a minute"),
        "12",
        "Messages per minute at most into one chat (after a short burst of 3).",
    ),
    Variable(
        "TYPING_SECONDS",
        parse_number_between(0, 10, "seconds"),
        "0.6",
        'Seconds of "typing..." shown before each reply.',
    ),
    Variable(
        "OUTBOX_MAX_AGE_SECONDS",
        parse_outbox_age,
        "600",
        "Seconds a queued reply may wait (across restarts too) before it is marked expired instead of sent; 10-86400.",
    ),
    Variable(
        "USER_COMMANDS_PER_MINUTE",
        parse_number_between(0, 600, "commands a minute"),
        "10",
        "Commands one user may run per minute (after a burst of USER_COMMANDS_BURST); 0 = no limit. Owners are exempt.",
        chat=True,
    ),
    Variable(
        "USER_COMMANDS_BURST",
        parse_whole_between(1, 100, "commands"),
        "5",
        "Commands one user may run back to back before USER_COMMANDS_PER_MINUTE paces them; at least 1.",
        chat=True,
    ),
    Variable(
        "GROUP_CACHE_TTL",
        parse_whole_between(1, 86400, "seconds"),
        "300",
        "Seconds group metadata (admins, members) is cached; group change events update it sooner.",
    ),
    Variable(
        "MAX_RECONNECT_ATTEMPTS",
        parse_whole_between(1, 10000, "attempts"),
        "5",
        "Failed reconnects in a row before a fresh child / QR refresh.",
    ),
    Variable(
        "RECONNECT_BASE_SECONDS",
        parse_number_between(0.01, 600, "seconds"),
        "1.0",
        "Base delay of the reconnect backoff.",
    ),
    Variable("RECONNECT_CAP_SECONDS", parse_number_between(0.05, 3600, "seconds"), "120.0", "Largest reconnect delay."),
    Variable(
        "MEMORY_LIMIT_MB",
        parse_whole_between(1, 1048576, "MB"),
        "512",
        "Memory of a dyno: the bot sheds at 80% and restarts at 95%; a web worker retires past 85% / WEB_CONCURRENCY.",
    ),
    Variable(
        "CHILD_RESTART_LIMIT",
        parse_whole_between(1, 100, "restarts"),
        "5",
        "Automatic bot child restarts allowed within 10 minutes before the worker gives up (crash loop).",
    ),
    Variable(
        "LEASE_TTL", parse_whole_between(2, 600, "seconds"), "30", "Seconds a session lease lives without renewal."
    ),
    Variable(
        "HEARTBEAT_TIMEOUT",
        parse_whole_between(1, 3600, "seconds"),
        "60",
        "Seconds without a child heartbeat before it is killed and restarted.",
    ),
    Variable(
        "SHUTDOWN_GRACE",
        parse_whole_between(1, 600, "seconds"),
        "25",
        "Seconds the worker takes at most to shut down on SIGTERM (Heroku allows 30).",
    ),
    Variable("PLANNED_RESTART_AT", parse_hhmm, "", "HH:MM UTC for a daily graceful restart; empty = off."),
    Variable(
        "OUTAGE_ALERT_MINUTES",
        parse_whole_between(1, 1440, "minutes"),
        "3",
        "Minutes offline after which owners get one WhatsApp message when the bot is back.",
    ),
    Variable(
        "LIVENESS_INTERVAL",
        parse_whole_between(1, 1440, "minutes"),
        "15",
        "Minutes between round trips through WhatsApp that prove a connected bot still hears it.",
    ),
    Variable(
        "LIVENESS_TIMEOUT",
        parse_whole_between(5, 600, "seconds"),
        "30",
        "Seconds WhatsApp may take to answer one liveness round trip.",
    ),
    Variable(
        "LIVENESS_FAILURES",
        parse_whole_between(1, 20, "round trips"),
        "3",
        "Unanswered round trips in a row after which a connected bot counts as deaf and is restarted.",
    ),
    Variable(
        "DEAF_RESTARTS",
        parse_whole_between(0, 20, "restarts"),
        "3",
        "Deaf restarts in a row after which the bot alerts once and keeps its connection instead.",
    ),
    Variable(
        "UNDECRYPTABLE_ALERT_COUNT",
        parse_whole_between(1, 100000, "messages"),
        "10",
        "Undecryptable messages within UNDECRYPTABLE_ALERT_MINUTES after a restore that raise the stale-store alert.",
    ),
    Variable(
        "UNDECRYPTABLE_ALERT_MINUTES",
        parse_whole_between(1, 1440, "minutes"),
        "30",
        "Minutes after a restore in which a rise of undecryptable messages is alerted on (a stale store's sign).",
    ),
    Variable(
        "CONNECTION_WEBHOOK_URL", parse_url, "", "URL that receives a signed POST on every connection state change."
    ),
    Variable(
        "CONNECTION_WEBHOOK_SECRET",
        parse_str,
        "",
        "HMAC-SHA256 secret for the X-Blacksky-Signature header.",
        secret=True,
    ),
    Variable(
        "STATS_TOKEN",
        parse_token,
        "",
        "Bearer token for /stats and /metrics, at least 32 characters (staff login works too; empty: no token works).",
        secret=True,
    ),
    Variable(
        "EVENT_RETENTION_DAYS",
        parse_whole_between(1, 3650, "days"),
        "30",
        "Days connection and reconnect events are kept.",
    ),
    # media
    Variable(
        "USE_CDN_MEDIA", parse_bool, "false", "Prefer the CDN copy of reaction GIFs (a wiped disk has no local files)."
    ),
    Variable("MEDIA_CDN_URL", parse_url, "", "Base URL of the GIF CDN (e.g. the web dyno's /gifs/)."),
    Variable("MEDIA_CACHE_MB", parse_whole_between(1, 4096, "MB"), "32", "In-memory LRU for media bytes, in MB."),
    Variable("MEDIA_ROOT", parse_project_dir, "var/media", "Where GIF renditions are stored on disk."),
    Variable(
        "MEDIA_STARTER_PACK",
        parse_bool,
        "true",
        "Load the bundled reaction GIFs on the first migrate (later: manage.py import_gifs --starter).",
    ),
    Variable(
        "TEMP_DIR", parse_dir, "", "Root of the per-process temp directories; empty = the system temp dir + /blacksky."
    ),
    Variable(
        "TEMP_DIR_MAX_MB",
        parse_whole_between(1, 102400, "MB"),
        "256",
        "Most disk one process's temp directory may use.",
    ),
    # queue
    Variable("REDIS_URL", parse_redis_url, "", "Optional django-q2 broker; empty = the project database."),
    Variable(
        "Q_WORKERS",
        parse_whole_between(1, 16, "worker processes"),
        "1",
        "django-q2 worker processes inside the bot worker.",
    ),
)
