"""Admin of the bot app, autodiscovered wherever ``django.contrib.admin`` is installed (the web
process; the bot child never loads it).

:mod:`bot.admin.status` registers the bot's own tables; :mod:`bot.admin.sessions` replaces the
sessions_store admins with subclasses that add the operator actions going through the control
table; :mod:`bot.admin.outbox` lists the reply queue with retry and discard; :mod:`bot.admin.common`
holds what they share.
"""

from bot.admin import outbox, sessions, status  # noqa: F401  importing them registers the admins
