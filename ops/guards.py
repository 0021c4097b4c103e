"""Access to /stats and /metrics, imported by the web dyno (gunicorn): a bearer token or a staff login.

``Authorization: Bearer $STATS_TOKEN`` is compared in constant time and never logged; an empty
``STATS_TOKEN`` means no token works. The staff pages (/dashboard/, /pair/) do not take the token:
they use Django's ``staff_member_required``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

REALM = 'Bearer realm="stats"'


def _token_matches(presented: str) -> bool:
    expected = settings.STATS_TOKEN
    if not expected:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def _unauthorized(error: str) -> JsonResponse:
    response = JsonResponse({"error": error}, status=401)
    response["WWW-Authenticate"] = REALM
    return response


def stats_access_denied(request: HttpRequest) -> JsonResponse | None:
    """None when the request may read /stats and /metrics, else the 401/403 response.

    A request carrying an ``Authorization`` header is judged by it alone (a wrong token is 401
    even with a staff cookie); without one, a staff session is needed: anonymous 401, a logged-in
    non-staff user 403.
    """
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and _token_matches(token.strip()):
            return None
        return _unauthorized("invalid token")
    user = request.user
    if not user.is_authenticated:
        return _unauthorized("authentication required: staff login or bearer token")
    if not (user.is_active and user.is_staff):
        return JsonResponse({"error": "staff only"}, status=403)
    return None


def stats_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorates a view that only a stats token or a staff login may see (see :func:`stats_access_denied`)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        denied = stats_access_denied(request)
        if denied is not None:
            return denied
        return view(request, *args, **kwargs)

    return guarded
