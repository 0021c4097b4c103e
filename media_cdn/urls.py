from django.urls import re_path

from media_cdn import views

app_name = "media_cdn"

urlpatterns = [
    re_path(r"^(?P<name>[a-z0-9][a-z0-9_-]{0,39})\.(?P<ext>gif|mp4|webp)$", views.gif_serve, name="gif"),
]
