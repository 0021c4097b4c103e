"""Admin of the bot app, autodiscovered wherever ``django.contrib.admin`` is installed (the web
process; the bot child never loads it).

:mod:`bot.admin.status` registers the bot's own tables; :mod:`bot.admin.sessions` replaces the
sessions_store admins with subclasses that add the operator actions going through the control
table; :mod:`bot.admin.outbox` lists the reply queue with retry and discard;
:mod:`bot.admin.runtime` edits the chat-settable settings and chat languages;
:mod:`bot.admin.session_lifecycle` adds, pairs and removes sessions; :mod:`bot.admin.schedules` lists
scheduled messages with their occurrences; :mod:`bot.admin.history` the anti-delete switches and the
message cache (metadata only); :mod:`bot.admin.greetings` the groups' greeting templates;
:mod:`bot.admin.moderation` edits the moderation rules and warn policies and shows the moderation log
(read-only); :mod:`bot.admin.stickers` the sticker preferences and made media; :mod:`bot.admin.presence` anti-call
and ``.afk`` rows; :mod:`bot.admin.common` holds
what they share. The site's header and title are set here, once.
"""

from django.contrib import admin

from bot.admin import (  # noqa: F401  importing them registers the admins
    greetings,
    history,
    moderation,
    outbox,
    presence,
    reactions,
    runtime,
    schedules,
    sessions,
    status,
    stickers,
)

admin.site.site_header = "BLACKSKY-MD administration"
admin.site.site_title = "BLACKSKY-MD admin"
admin.site.index_title = "Sessions, bot status and operator requests"
admin.site.site_url = "/dashboard/"  # "View site" leads to the bot's dashboard, not a bare root
