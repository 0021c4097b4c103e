"""gunicorn settings for the web dyno. Never `preload_app`: forking after neonize is imported hangs."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
preload_app = False
timeout = 30
graceful_timeout = 25
keepalive = 5
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms'
max_requests = 2000
max_requests_jitter = 200
forwarded_allow_ips = "*"
