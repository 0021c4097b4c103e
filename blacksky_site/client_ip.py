"""Who is asking, for the login throttle (django-axes): the address a lockout is keyed on.

Behind Heroku's router (CLOUD_MODE) ``REMOTE_ADDR`` is the router; it appends the address it
received the request from as the last ``X-Forwarded-For`` entry, and anything before that is the
client's own claim (trivial to forge, so never used). Elsewhere ``REMOTE_ADDR`` is the client.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if getattr(settings, "CLOUD_MODE", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return remote
