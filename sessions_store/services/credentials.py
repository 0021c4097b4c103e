"""The Heroku config-var copy of a session's credentials, written after a pairing and by backups.

WA_CREDENTIALS / WA_AUTH_STATE are written when the device identity changes (after a pairing),
never per backup: a config-var change restarts the dynos.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from blacksky_site.heroku import HerokuError, heroku_config_vars_set, heroku_configured
from sessions_store.envvars import (
    HEROKU_WRITE_BUDGET,
    credentials_fingerprint,
    env_export,
)
from sessions_store.models import WhatsAppSession
from sessions_store.snapshot import (
    Archive,
    archive_from_store,
)
from sessions_store.store import StoreError, store_for

logger = logging.getLogger("sessions_store.services")

CREDENTIALS_RESYNC_MIN_INTERVAL = timedelta(hours=1)


def session_credentials_sync(*, session_name: str, paired: bool = False, archive: Archive | None = None) -> bool:
    """Write WA_CREDENTIALS and WA_AUTH_STATE to the Heroku config vars when the device identity
    changed since the last write. Never per backup: a config-var change restarts the dynos.
    ``archive`` is a snapshot the caller already took (else one is taken now)."""
    if not heroku_configured():
        return False
    session, _ = WhatsAppSession.objects.named(session_name)
    if archive is None:
        store = store_for(session_name)
        health = store.health()
        if not health.healthy:
            logger.warning("credentials not exported", extra={"session": session_name, "reason": health.reason})
            return False
        try:
            archive = archive_from_store(store)
        except StoreError as exc:
            logger.warning("credentials not exported", extra={"session": session_name, "reason": str(exc)})
            return False
    fingerprint = credentials_fingerprint(archive)
    if fingerprint == session.credentials_fingerprint:
        return False
    recent = (
        session.credentials_exported_at
        and timezone.now() - session.credentials_exported_at < CREDENTIALS_RESYNC_MIN_INTERVAL
    )
    if recent and not paired:
        logger.info("credentials changed; config vars written recently, waiting", extra={"session": session_name})
        return False
    export = env_export(archive=archive, session_name=session_name, credentials_only=True, budget=HEROKU_WRITE_BUDGET)
    if export.total > HEROKU_WRITE_BUDGET:
        logger.error(
            "credentials too large for Heroku config vars",
            extra={"session": session_name, "bytes": export.total, "budget": HEROKU_WRITE_BUDGET},
        )
        return False
    values: dict[str, str | None] = dict(export.values)
    values["WA_SESSION_DATA"] = None  # an older whole archive would win over the new credentials
    try:
        heroku_config_vars_set(values=values)
    except HerokuError as exc:
        logger.error("credentials not written to Heroku", extra={"session": session_name, "reason": str(exc)})
        return False
    WhatsAppSession.objects.filter(pk=session.pk).update(
        credentials_fingerprint=fingerprint, credentials_exported_at=timezone.now()
    )
    logger.info(
        "credentials written to Heroku config vars",
        extra={"session": session_name, "bytes": export.total, "jid": archive.device_jid},
    )
    return True
