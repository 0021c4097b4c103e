"""URL map: admin, the bot's operations pages, and GIF serving."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("ops.urls")),
    path("gifs/", include("media_cdn.urls")),
]
