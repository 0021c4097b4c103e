"""Operations URLs of the web dyno (gunicorn): the landing page, health, figures for people and for Prometheus, pairing.

Names are not namespaced (`{% url 'stats' %}`): templates and tests reverse them bare.
"""

from django.urls import path

from ops import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("stats", views.stats, name="stats"),
    path("metrics", views.metrics, name="metrics"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("pair/", views.pair, name="pair"),
    path("favicon.ico", views.favicon, name="favicon"),
]
