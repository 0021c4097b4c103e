"""Reads behind the operations pages, imported by the web dyno (gunicorn): one module per page.

The web dyno sees the bot only through the database, so every figure here comes from rows the
worker wrote: `health` for /healthz, `stats` for the /stats snapshot (also /metrics and the
dashboard), `pairing` for /pair/, `connection` for what all of them say when the bot cannot connect.
"""
