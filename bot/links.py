"""Links the bot prints for operators (in the worker's log and terminal): the pairing page.

Imported by the supervisor and the child; built from settings only, never from a request.
"""

from __future__ import annotations

import os

from django.conf import settings


def pairing_page_url() -> str:
    """Where an operator pairs from a browser: the Heroku app's URL, else the local web app."""
    app = settings.HEROKU_APP_NAME
    if app:
        return f"https://{app}.herokuapp.com/pair/"
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/pair/"
