"""Staff users with exactly the permissions a test names ("app.codename"), like an operator's group."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission


def operator(username: str, *perms: str, password: str = "pw"):
    """A staff user holding ``perms`` and nothing else."""
    user = get_user_model().objects.create_user(username, password=password, is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".", 1)
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # a fresh instance: no stale permission cache
