"""Operations endpoints. Thin: each reads through a selector and renders."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Public health check for Heroku and uptime monitors: 200 when healthy, else 503 with the reason.

    `?live=1` checks the web process alone (no database), for liveness probes.
    """
    if request.GET.get("live"):
        return JsonResponse({"status": "ok", "check": "live"})
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure is a 503, never a 500
        return JsonResponse({"status": "error", "reason": f"database unavailable: {type(exc).__name__}"}, status=503)
    return JsonResponse({"status": "ok"})
