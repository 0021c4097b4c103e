"""What a WhatsApp session is to the project: its identity and status, its encrypted backups, the
lease that keeps one process its owner, its backup and restore locks, and the short-lived pairing
codes the web dyno shows.

The whatsmeow store itself (the device keys) lives outside these tables: in a SQLite file under
``WA_STORE_DIR`` or in a PostgreSQL schema ``wa_<key>`` (see ``store/``). These rows describe it, and
``WhatsAppSession.store_key`` (unique) keeps one session per store.
"""

from __future__ import annotations

from django.core.validators import validate_slug
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from sessions_store.store.base import SessionNameError, session_name_taken_message, store_key, validate_session_name


class WhatsAppSessionManager(models.Manager):
    """Creates sessions one way: :meth:`named`, which keeps the name -> live store mapping one-to-one."""

    def named(self, name: str, **defaults) -> tuple[WhatsAppSession, bool]:
        """The session called exactly ``name``, or a new one by that name; returns it and whether it is new.

        A new name must be valid and its store key free, else :class:`SessionNameError` names the
        session holding it (``StoreError`` for a malformed name). An old row whose key an older session holds (two names on one store
        from before keys existed) is refused the same way, so it never runs the other's store.
        """
        session = self.filter(name=name).first()
        if session is not None:
            if session.store_key is None:
                self._key_claim(session)
            return session, False
        validate_session_name(name)
        holder = self.filter(store_key=store_key(name)).values_list("name", flat=True).first()
        if holder is not None:
            raise SessionNameError(session_name_taken_message(name, holder))
        try:
            with transaction.atomic():
                return self.create(name=name, **defaults), True
        except IntegrityError:  # another process created it, or a name with its key, just now
            session = self.filter(name=name).first()
            if session is not None:
                return session, False
            holder = self.filter(store_key=store_key(name)).values_list("name", flat=True).first()
            raise SessionNameError(session_name_taken_message(name, holder or "?")) from None

    def _key_claim(self, session: WhatsAppSession) -> None:
        key = store_key(session.name)
        try:
            with transaction.atomic():
                self.filter(pk=session.pk, store_key__isnull=True).update(store_key=key)
        except IntegrityError:
            holder = self.filter(store_key=key).values_list("name", flat=True).first()
            raise SessionNameError(
                f"Session {session.name!r} shares its live store with session {holder!r} (both are {key!r} "
                "to the store): one would run the other's WhatsApp account. Remove one of them "
                "(manage.py remove_session NAME); names are never changed automatically."
            ) from None
        session.store_key = key


class WhatsAppSession(models.Model):
    """One WhatsApp account the bot logs in as, named by a slug (``default`` unless several)."""

    class Status(models.TextChoices):
        NEW = "new"
        PAIRING = "pairing"
        PAIRED = "paired"
        LOGGED_OUT = "logged_out"
        REPLACED = "replaced"
        BANNED = "banned"

    class Backend(models.TextChoices):
        SQLITE = "sqlite"
        POSTGRES = "postgres"

    name = models.CharField(max_length=48, unique=True, default="default", validators=[validate_slug])
    store_key = models.CharField(  # noqa: DJ001 - NULL, not "": unique allows many NULLs, one "" only
        max_length=48,
        unique=True,
        null=True,
        editable=False,
        help_text="The name as the live store knows it (lower case, '-' as '_'): one session per store. "
        "Empty only for an old session whose store another, older session holds.",
    )
    jid = models.CharField(max_length=128, blank=True, help_text="Device JID once paired.")
    push_name = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    status_reason = models.CharField(max_length=200, blank=True)
    store_backend = models.CharField(max_length=16, choices=Backend.choices, blank=True)
    store_location = models.CharField(
        max_length=500, blank=True, help_text="SQLite path or PostgreSQL schema (never a password)."
    )
    store_host = models.CharField(
        max_length=255, blank=True, help_text="Host name of the machine holding a SQLite store."
    )
    credentials_fingerprint = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the device identity last written to Heroku config vars."
    )
    credentials_exported_at = models.DateTimeField(null=True, blank=True)
    store_generation = models.BigIntegerField(
        default=0,
        db_default=0,
        help_text="The newest store generation handed out: each start of a run, restore and pairing takes the next.",
    )
    trial = models.BooleanField(
        default=False,
        db_default=False,  # rows written by raw SQL (tests, other tools) are real sessions
        help_text="A console trial (runbot --transport console): no WhatsApp account, never health-checked, "
        "never run by runbot --all, never backed up.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    paired_at = models.DateTimeField(null=True, blank=True)
    last_connected_at = models.DateTimeField(null=True, blank=True)
    last_backup_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WhatsAppSessionManager()

    class Meta:
        ordering = ["name"]
        permissions = [
            ("remove_session", "Can remove a session and everything it owns"),
            ("pair_session", "Can ask a session's bot for a phone pairing code"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status}{', trial' if self.trial else ''})"

    def save(self, *args, **kwargs) -> None:
        if self._state.adding and self.store_key is None:
            self.store_key = store_key(self.name)  # the database refuses a second session on one store
        super().save(*args, **kwargs)


class SessionBackup(models.Model):
    """One encrypted, checksummed archive of a session's whatsmeow store.

    A row is ``verified`` only after its bytes were decrypted and parsed back; a crash leaves no
    row or a ``failed`` one.
    """

    class Reason(models.TextChoices):
        SCHEDULED = "scheduled"
        SHUTDOWN = "shutdown"
        PAIRED = "paired"
        MANUAL = "manual"
        IMPORT = "import"
        PRE_RESTORE = "pre_restore"

    class State(models.TextChoices):
        PENDING = "pending"
        VERIFIED = "verified"
        CORRUPT = "corrupt"
        FAILED = "failed"

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="backups")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    format_version = models.PositiveSmallIntegerField(default=1)
    source_backend = models.CharField(max_length=16, blank=True)
    device_jid = models.CharField(max_length=128, blank=True)
    raw_size = models.BigIntegerField(default=0, help_text="Bytes of the uncompressed archive.")
    stored_size = models.BigIntegerField(default=0, help_text="Bytes stored (compressed and encrypted).")
    sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the stored bytes.")
    content_sha256 = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the plain archive: unchanged stores are not backed up twice."
    )
    key_id = models.CharField(max_length=32, blank=True)
    archive_id = models.UUIDField(
        null=True,
        blank=True,
        unique=True,
        editable=False,
        help_text="The id bound into the archive's authenticated header with the session name; "
        "empty for archives made before archives were bound (accepted with a warning).",
    )
    store_generation = models.BigIntegerField(
        default=0, db_default=0, help_text="Generation of the live store it was taken from (0: unknown, before 0003)."
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    state_reason = models.CharField(max_length=300, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    row_counts = models.JSONField(default=dict, blank=True)
    archive = models.BinaryField(default=b"", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["session", "state", "-created_at"], name="sess_backup_state_newest")]

    def __str__(self) -> str:
        return f"backup #{self.pk} of {self.session_id} ({self.reason}, {self.state})"


class SessionLease(models.Model):
    """Which process owns a session right now (one owner at a time; logic in ``lease.py``)."""

    session = models.OneToOneField(WhatsAppSession, on_delete=models.CASCADE, related_name="lease")
    holder = models.CharField(max_length=128, blank=True, help_text='"host:pid:random"')
    holder_host = models.CharField(max_length=255, blank=True)
    holder_pid = models.IntegerField(null=True, blank=True)
    token = models.CharField(max_length=64, blank=True, help_text="Random id of the holder.")
    fencing = models.BigIntegerField(default=0, help_text="Incremented on every takeover.")
    acquired_at = models.DateTimeField(null=True, blank=True)
    renewed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"lease of {self.session_id} by {self.holder or 'nobody'} (fencing {self.fencing})"


class SessionLock(models.Model):
    """One backup or restore of a session at a time; the holder is recorded so a dead one is told apart.

    ``token`` is empty while free. Rules for taking over from a holder that is gone: ``holders.py``.
    """

    class Kind(models.TextChoices):
        BACKUP = "backup"
        RESTORE = "restore"

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="locks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    token = models.CharField(max_length=32, blank=True)
    holder_host = models.CharField(max_length=255, blank=True)
    holder_pid = models.IntegerField(null=True, blank=True)
    holder_started = models.CharField(
        max_length=80, blank=True, help_text="Boot id and start ticks of the holder's process (pid reuse check)."
    )
    lease_token = models.CharField(max_length=64, blank=True, help_text="Set when the holder owned the lease.")
    lease_fencing = models.BigIntegerField(null=True, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "kind"], name="sess_lock_one_per_kind")]

    def __str__(self) -> str:
        holder = f"{self.holder_host}:{self.holder_pid}" if self.token else "free"
        return f"{self.kind} lock of {self.session_id} ({holder})"


class PairingCode(models.Model):
    """A short-lived QR payload or phone pairing code for the ``/pair/`` page."""

    class Kind(models.TextChoices):
        QR = "qr"
        PHONE_CODE = "phone_code"

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="pairing_codes")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    consumed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} for {self.session_id} until {self.expires_at:%H:%M:%S}"
