from django.urls import path

from bot import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
]
