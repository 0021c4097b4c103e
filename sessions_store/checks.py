"""``manage.py check --database default`` (and ``migrate``): sessions from before store keys that share
one live store. Registered by the app's ``ready()``; reads the session names only.

Two such sessions ran one WhatsApp account's store between them. Nothing renames either: the one that
got no key is refused at start until an operator removes one of the two (``remove_session`` leaves
the shared store to the session that holds it).
"""

from __future__ import annotations

from collections import defaultdict

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

from sessions_store.store.base import store_key


@register(Tags.database)
def sessions_sharing_a_store(app_configs=None, databases=None, **kwargs) -> list[Warning]:
    if not databases:
        return []
    from sessions_store.models import WhatsAppSession

    try:
        names = list(WhatsAppSession.objects.order_by("created_at", "id").values_list("name", flat=True))
    except DatabaseError:  # before the first migrate: no table, nothing to compare
        return []
    by_key: dict[str, list[str]] = defaultdict(list)
    for name in names:
        by_key[store_key(name)].append(name)
    return [
        Warning(
            f"Sessions {', '.join(repr(n) for n in group)} map to one live store (key {key!r}); "
            f"{group[0]!r} keeps it and the others are refused at start.",
            hint="Remove the one you do not need (manage.py remove_session NAME), or move it to a new name "
            "first (export_session, then import_session --as NEW); names are never changed automatically.",
            id="sessions_store.W001",
        )
        for key, group in sorted(by_key.items())
        if len(group) > 1
    ]
