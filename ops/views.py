"""Operations endpoints of the web dyno (gunicorn). Thin: each checks access, reads through a selector
and renders.

`/` and `/healthz` are public; `/stats` and `/metrics` take a staff login or ``Authorization: Bearer
$STATS_TOKEN`` (:func:`ops.guards.stats_access`); `/dashboard/` and `/pair/` are staff pages.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from bot.control import ControlError, control_request
from ops.forms import PairPhoneForm
from ops.guards import stats_access
from ops.metrics import CONTENT_TYPE, metrics_text
from ops.selectors.health import health_check
from ops.selectors.pairing import pairing_bot_running, pairing_default_session, pairing_overview
from ops.selectors.stats import session_names
from ops.stats_cache import stats_cached
from sessions_store.pairing import pairing_qr_svg

logger = logging.getLogger(__name__)

#: Seconds between reloads of the pairing page (a QR rotates every ~20 s).
PAIR_REFRESH_SECONDS = 5


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page (the admin's too): point them at our static icon."""
    response = HttpResponseRedirect(staticfiles_storage.url("favicon.svg"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    """``/``: what this site is and where to go (staff go straight to the dashboard); reads no database."""
    if request.user.is_authenticated and request.user.is_staff:
        return HttpResponseRedirect(reverse("dashboard"))
    return render(request, "ops/landing.html")


@require_safe  # uptime monitors often probe with HEAD
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Public health check for Heroku and uptime monitors: 200 when healthy, else 503 with the reason.

    Healthy means the database answers and every session's bot is connected with a heartbeat
    younger than ``HEARTBEAT_TIMEOUT``. `?live=1` checks the web process alone (no database).
    """
    if request.GET.get("live"):
        return JsonResponse({"status": "ok", "check": "live"})
    try:
        health = health_check()  # one small query: it also proves the database answers
    except Exception as exc:  # any failure the selector did not expect is a 503 too, never a 500
        return JsonResponse({"status": "error", "reason": "database", "error": type(exc).__name__}, status=503)
    if not health.ok:
        return JsonResponse({"status": "error", "reason": health.reason, "sessions": health.sessions}, status=503)
    return JsonResponse({"status": "ok", "sessions": health.sessions})


def _database_unavailable(exc: Exception) -> JsonResponse:
    logger.warning("stats unavailable: database error", extra={"error": type(exc).__name__})
    return JsonResponse({"error": f"database unavailable: {type(exc).__name__}"}, status=503)


@require_GET
@never_cache
@stats_access
def stats(request: HttpRequest) -> HttpResponse:
    """The bot's figures as JSON, read from the database (cached for a few seconds)."""
    try:
        cached = stats_cached()
    except DatabaseError as exc:
        return _database_unavailable(exc)
    return HttpResponse(cached.body, content_type="application/json")


@require_GET
@never_cache
@stats_access
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text of the same figures."""
    try:
        snapshot = stats_cached().snapshot
    except DatabaseError as exc:
        return _database_unavailable(exc)
    return HttpResponse(metrics_text(snapshot=snapshot), content_type=CONTENT_TYPE)


@require_GET
@never_cache
@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """A state banner, charts and recent events; the page refreshes itself from /stats."""
    snapshot = stats_cached().snapshot
    return render(
        request,
        "ops/dashboard.html",
        {"snapshot": snapshot, "sessions": snapshot["sessions"], "stats_url": reverse("stats")},
    )


def _pair_session_name(request: HttpRequest) -> str:
    requested = (request.POST.get("session") or request.GET.get("session") or "").strip()
    return requested or pairing_default_session()


def _pair_phone_post(request: HttpRequest, session_name: str) -> PairPhoneForm | None:
    """Queue a phone pairing for the worker; returns the form when its number was refused."""
    form = PairPhoneForm(request.POST)
    if not form.is_valid():
        return form
    try:
        control_request(
            session_name=form.cleaned_data["session"],
            action="pair_phone",
            args={"phone": form.cleaned_data["phone"]},
            user=request.user,
        )
    except ControlError as exc:
        form.add_error(None, str(exc))
        return form
    ending = form.cleaned_data["phone"][-4:]
    if pairing_bot_running(session_name=form.cleaned_data["session"]):
        messages.success(
            request, f"Asked the bot for a pairing code for the number ending {ending}; it appears here within a few seconds."
        )
    else:
        messages.warning(
            request,
            f"Asked for a pairing code for the number ending {ending}, but no bot is running for this session now: "
            "the request waits (up to an hour) until the worker starts.",
        )
    return None


@never_cache
@staff_member_required
@permission_required("sessions_store.pair_session", raise_exception=True)  # a QR shown is a device linked
@require_http_methods(["GET", "POST"])
def pair(request: HttpRequest) -> HttpResponse:
    """The current QR (as SVG) or phone pairing code of a session; POST asks the bot for a fresh QR,
    or (``action=pair_phone``) for a pairing code sent to a phone number."""
    session_name = _pair_session_name(request)
    phone_form = PairPhoneForm(initial={"session": session_name})
    if request.method == "POST":
        if request.POST.get("action") == "pair_phone":
            refused = _pair_phone_post(request, session_name)
            if refused is not None:  # the page again, with the error beside the number typed
                return _pair_render(request, session_name=session_name, phone_form=refused, refused=True)
        else:
            try:
                control_request(session_name=session_name, action="refresh_qr", user=request.user)
            except ControlError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "Asked the bot for a fresh QR code; it appears here within a few seconds.")
        return HttpResponseRedirect(f"{reverse('pair')}?{urlencode({'session': session_name})}")
    return _pair_render(request, session_name=session_name, phone_form=phone_form)


def _pair_render(
    request: HttpRequest, *, session_name: str, phone_form: PairPhoneForm, refused: bool = False
) -> HttpResponse:
    overview = pairing_overview(session_name=session_name)
    code = overview["code"]
    qr_svg = ""
    if code is not None and code.kind == "qr":
        qr_svg = pairing_qr_svg(code.code)
    context = {
        **overview,
        "session_name": session_name,
        "session_names": session_names(),
        "qr_svg": qr_svg,
        "refresh_seconds": PAIR_REFRESH_SECONDS,
        "phone_form": phone_form,
        # a refused number stays on screen: no reload that would wipe what the operator typed
        "reloads": not refused
        and (code is not None or overview["wa_session"] is None or overview["wa_session"].status != "paired"),
    }
    return render(request, "ops/pair.html", context)
