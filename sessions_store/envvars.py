"""The session in environment variables: ``WA_SESSION_DATA``, ``WA_CREDENTIALS``, ``WA_AUTH_STATE``.

A host whose disk is wiped on every restart (Heroku without Postgres) keeps its WhatsApp login in
config vars. Each value is ``bsky1.<kind>.<checksum>.<data>``: ``kind`` is ``s`` (the whole archive),
``c`` (the device identity: enough to log in without a QR; Signal sessions rebuild) or ``a`` (the
app-state sync keys and versions); ``checksum`` is the first 16 hex digits of the SHA-256 of the
stored bytes; ``data`` is base64url of the archive encrypted as backups are, so bound to the session
it was exported from (``crypto.py``, format 2): a value of another session is refused by name unless
the caller says it imports a foreign one on purpose (``import_session --as NAME``). Values exported
before binding (format 1) are accepted into any session. Heroku's config vars total at most 32 KB,
names included.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from . import crypto
from .snapshot import (
    AUTH_STATE_TABLES,
    CREDENTIAL_TABLES,
    Archive,
    ArchiveError,
    archive_decode,
    archive_encode,
)

PREFIX = "bsky1"
KINDS = {"WA_SESSION_DATA": "s", "WA_CREDENTIALS": "c", "WA_AUTH_STATE": "a"}
HEROKU_CONFIG_LIMIT = 32 * 1024
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
# What the automatic config-var write may take, leaving room for the app's other variables.
HEROKU_WRITE_BUDGET = 28 * 1024


class EnvValueError(Exception):
    """A session env var is malformed, truncated, tampered with or wrongly keyed (one sentence)."""


class ForeignEnvValueError(EnvValueError):
    """A genuine session env var exported from another session than the one it is imported into."""


# Where ``env_value_decode`` notes whose export it was (``None``: unbound, exported before binding).
EXPORTED_FROM = "exported_from"


@dataclass(frozen=True)
class EnvExport:
    values: dict[str, str]
    sizes: dict[str, int]
    limit: int = HEROKU_CONFIG_LIMIT

    @property
    def total(self) -> int:
        return sum(len(name) + 1 + size for name, size in self.sizes.items())

    @property
    def fits(self) -> bool:
        return self.total <= self.limit


def env_value_encode(*, name: str, archive: Archive, session_name: str) -> str:
    """One variable's value, bound to ``session_name``."""
    packed = crypto.pack(archive_encode(archive), session_name=session_name)
    data = base64.urlsafe_b64encode(packed.stored).rstrip(b"=").decode()
    return f"{PREFIX}.{KINDS[name]}.{packed.sha256[:16]}.{data}"


def env_value_decode(*, name: str, value: str, owner: str | None = None) -> Archive:
    """Check and open one env value; raises ``EnvValueError`` naming the variable and the problem.

    With ``owner`` (the session it is imported into) a value exported from another session raises
    ``ForeignEnvValueError``; ``archive.extra[EXPORTED_FROM]`` says whose export it was.
    """
    text = "".join(value.split())
    parts = text.split(".")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[3]:
        raise EnvValueError(f"{name} is malformed: expected {PREFIX}.<kind>.<checksum>.<data> from export_session.")
    _, kind, checksum, data = parts
    if kind != KINDS[name]:
        actual = next((n for n, k in KINDS.items() if k == kind), "an unknown kind")
        raise EnvValueError(f"{name} holds the value of {actual}; paste each value into its own variable.")
    if not BASE64URL.fullmatch(data):
        raise EnvValueError(f"{name} is malformed: its data is not base64url.")
    if len(data) % 4 == 1:  # no base64 text has this length: the value was cut off
        raise EnvValueError(f"{name} is truncated or was altered: its data ends in the middle of a byte.")
    try:
        stored = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise EnvValueError(f"{name} is malformed: its data is not base64url.") from None
    if hashlib.sha256(stored).hexdigest()[:16] != checksum:
        raise EnvValueError(f"{name} is truncated or was altered: its checksum does not match its data.")
    try:
        opened = crypto.open_stored(stored)
        archive = archive_decode(opened.raw)
    except crypto.WrongKeyError as exc:
        raise EnvValueError(f"{name} cannot be decrypted with this key. {exc}") from None
    except (crypto.CryptoError, ArchiveError) as exc:
        raise EnvValueError(f"{name} cannot be read: {exc}") from None
    exported_from = opened.binding.session_name if opened.binding else None
    if owner is not None and exported_from is not None and exported_from != owner:
        raise ForeignEnvValueError(
            f"{name} was exported from session {exported_from!r}, not {owner!r}: it is not imported into "
            f"{owner!r} (to do so on purpose, run import_session --as {owner})."
        )
    archive.extra[EXPORTED_FROM] = exported_from
    return archive


def auth_state_archive(
    archive: Archive, *, session_name: str, budget: int | None = None, credentials_size: int = 0
) -> Archive:
    """The app-state part; versions and their MACs go together or not at all (whatsmeow then
    re-fetches the full app state) so that it fits ``budget`` with the credentials."""
    full = archive.subset(AUTH_STATE_TABLES, kind="auth_state")
    if budget is None:
        return full
    encoded = env_value_encode(name="WA_AUTH_STATE", archive=full, session_name=session_name)
    if credentials_size + len(encoded) <= budget:
        return full
    return archive.subset(("whatsmeow_app_state_sync_keys",), kind="auth_state")


def env_export(
    *, archive: Archive, session_name: str, credentials_only: bool = False, budget: int | None = None
) -> EnvExport:
    """The env values of ``archive``, bound to ``session_name``: the whole archive unless ``credentials_only``."""
    values: dict[str, str] = {}
    if not credentials_only:
        values["WA_SESSION_DATA"] = env_value_encode(name="WA_SESSION_DATA", archive=archive, session_name=session_name)
    credentials = env_value_encode(
        name="WA_CREDENTIALS", archive=archive.subset(CREDENTIAL_TABLES, kind="credentials"), session_name=session_name
    )
    values["WA_CREDENTIALS"] = credentials
    auth = auth_state_archive(archive, session_name=session_name, budget=budget, credentials_size=len(credentials))
    values["WA_AUTH_STATE"] = env_value_encode(name="WA_AUTH_STATE", archive=auth, session_name=session_name)
    return EnvExport(values=values, sizes={k: len(v) for k, v in values.items()})


def env_values_from(source: Mapping[str, str]) -> dict[str, str]:
    """The non-empty session variables in ``source`` (the environment, or parsed stdin)."""
    return {name: source[name].strip() for name in KINDS if source.get(name, "").strip()}


def parse_env_lines(text: str) -> dict[str, str]:
    """``NAME=value`` lines (also a pasted ``heroku config:set A=... B=...`` line) -> a mapping."""
    found: dict[str, str] = {}
    for token in text.split():
        token = token.strip("'\"")
        name, sep, value = token.partition("=")
        if sep and name in KINDS:
            found[name] = value.strip("'\"")
    return found


def env_archive(values: Mapping[str, str], *, owner: str | None = None) -> tuple[Archive, str]:
    """The archive the variables describe and its source (``env_session_data`` or ``env_credentials``).

    ``WA_SESSION_DATA`` wins when it is set and readable; every value given is checked first, so a
    bad one (or, with ``owner``, one exported from another session) raises before anything could
    be written.
    """
    from .snapshot import archive_merge

    if not values:
        raise EnvValueError("No WA_SESSION_DATA or WA_CREDENTIALS value was given.")
    decoded = {name: env_value_decode(name=name, value=value, owner=owner) for name, value in values.items()}
    if "WA_SESSION_DATA" in decoded:
        return decoded["WA_SESSION_DATA"], "env_session_data"
    if "WA_CREDENTIALS" not in decoded:
        raise EnvValueError("WA_AUTH_STATE alone cannot log in: WA_CREDENTIALS is needed too.")
    parts = [decoded["WA_CREDENTIALS"]]
    if "WA_AUTH_STATE" in decoded:
        auth = decoded["WA_AUTH_STATE"]
        if auth.device_jid and auth.device_jid != parts[0].device_jid:
            raise EnvValueError("WA_AUTH_STATE belongs to another device than WA_CREDENTIALS; export both again.")
        owners = {auth.extra[EXPORTED_FROM], parts[0].extra[EXPORTED_FROM]} - {None}
        if len(owners) > 1:
            raise EnvValueError(
                f"WA_AUTH_STATE was exported from session {auth.extra[EXPORTED_FROM]!r} and WA_CREDENTIALS from "
                f"{parts[0].extra[EXPORTED_FROM]!r}; export both again from one session."
            )
        parts.append(auth)
    merged = archive_merge(*parts)
    merged.extra[EXPORTED_FROM] = parts[0].extra[EXPORTED_FROM]
    return merged, "env_credentials"


def credentials_fingerprint(archive: Archive) -> str:
    """A hash of the device identity alone: it changes only when the credentials do."""
    part = Archive(tables=[t for t in archive.tables if t.name in CREDENTIAL_TABLES], kind="credentials")
    return crypto.sha256_hex(archive_encode(part))
