"""What the sticker commands share: which media a command is about, fetching it to a temp file with a
cap, the pack a user's stickers carry, the replies that carry made media, and one reply per failure.

Loaded in the bot child with ``bot.commands.stickers``. Media is fetched through the transport seam
(``Transport.download_media``) into this process's temp dir (``blacksky_site.tempfiles``), converted
there by ``media_cdn.sticker`` and removed when the command ends, error or not; what goes out is a
``MadeMedia`` row the reply names, so nothing is half-written: a reply is queued with its media or
not at all.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from bot.dispatch.context import CommandContext
from bot.transport.base import MediaDownloadError, MediaRef, Reply, TransportError
from media_cdn.limits import MediaError
from media_cdn.media import Media
from media_cdn.sticker_probe import StickerError
from media_cdn.webp_meta import PACK_TEXT_MAX

logger = logging.getLogger("bot.commands.stickers")

STICKER_SOURCE_KINDS = frozenset({"image", "video", "sticker"})
STICKER_FILE_MAX_BYTES = 1024 * 1024  # a received sticker is at most 500 KB (1 MB: some clients exceed it)


class Refusal(Exception):
    """A request the command answers with one sentence (already translated) and no other effect."""


def max_download_bytes() -> int:
    return settings.STICKER_MAX_DOWNLOAD_MB * 1024 * 1024


def source_media(ctx: CommandContext, *, kinds: frozenset[str] = STICKER_SOURCE_KINDS) -> MediaRef | None:
    """The message's own media (a caption command), else the quoted message's; documents count when
    they hold an image or a video."""
    for ref in (ctx.message.media, ctx.message.quoted_media):
        if ref is None:
            continue
        kind = ref.kind
        if kind == "document" and ref.mimetype.startswith(("image/", "video/")):
            kind = ref.mimetype.split("/", 1)[0]
        if kind in kinds:
            return ref
    return None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0")


@contextlib.contextmanager
def fetched(ctx: CommandContext, ref: MediaRef, *, max_bytes: int) -> Iterator[tuple[Path, Path]]:
    """(the downloaded file, a work dir) in this process's temp dir, both removed afterwards."""
    from blacksky_site.tempfiles import TempSpaceExceeded, ensure_temp_space, process_temp_dir

    if ref.size > max_bytes:
        raise Refusal(
            _("That file is %(size)s MB; I make stickers from files up to %(limit)s MB.")
            % {"size": _megabytes(ref.size), "limit": _megabytes(max_bytes)}
        )
    try:
        ensure_temp_space(max_bytes)
    except TempSpaceExceeded:
        logger.warning("sticker refused: temp space", extra={"session": ctx.session_name})
        raise Refusal(_("I am busy converting other files; try again in a minute.")) from None
    with tempfile.TemporaryDirectory(prefix="sticker-", dir=process_temp_dir()) as tmp:
        workdir = Path(tmp)
        source = workdir / "source"
        try:
            ctx.transport.download_media(ref, dest=source, max_bytes=max_bytes)
        except MediaDownloadError as exc:
            if exc.too_large:
                raise Refusal(
                    _("That file is over %(limit)s MB; I make stickers from files up to %(limit)s MB.")
                    % {"limit": _megabytes(max_bytes)}
                ) from None
            logger.warning("media download failed", extra={"session": ctx.session_name, "error": str(exc)[:200]})
            raise Refusal(_("I could not download that media. Ask for it to be sent again, then retry.")) from None
        except TransportError as exc:
            logger.warning("media download failed", extra={"session": ctx.session_name, "error": str(exc)[:200]})
            raise Refusal(_("I could not download that media. Ask for it to be sent again, then retry.")) from None
        yield source, workdir


# One conversion at a time per process: a dispatcher thread waits for ffmpeg, and the child has two,
# so the other one keeps answering every other command while a sticker is made.
_CONVERTING = threading.BoundedSemaphore(1)
CONVERSION_WAIT = 3.0  # seconds a second request waits for the first before it is told to retry


@contextlib.contextmanager
def one_conversion(ctx: CommandContext) -> Iterator[None]:
    """Hold the process's one conversion slot for the block; a request that cannot get it in time is refused."""
    if not _CONVERTING.acquire(timeout=CONVERSION_WAIT):
        logger.info("sticker refused: another conversion running", extra={"session": ctx.session_name})
        raise Refusal(_("I am making another sticker right now; try again in a few seconds."))
    try:
        yield
    finally:
        _CONVERTING.release()


def refusal_for(exc: MediaError, *, sticker: bool = False) -> Refusal:
    """The one reply for a file the encoder refused, by its reason (``sticker``: a received sticker was expected)."""
    reason = getattr(exc, "reason", "")
    if reason == "unreadable" and sticker:
        text = _("That is not a sticker I can read.")
    elif reason == "unreadable":
        text = _("That file is damaged or not an image, GIF or video I can read.")
    elif reason == "too_large":
        text = _("That image or video is too large to turn into a sticker (too many pixels or frames).")
    elif reason == "cannot_fit":
        text = _("I could not make that small enough for WhatsApp's sticker limits; try a shorter or simpler clip.")
    elif reason == "text_too_long":
        text = _("Pack name and author can have at most %(n)d characters each.") % {"n": PACK_TEXT_MAX}
    elif reason == "not_animated":
        text = _("That sticker does not move; use .toimg for a still sticker.")
    else:
        text = _("The conversion failed; try again with another file.")
    log = logger.info if isinstance(exc, StickerError) else logger.warning
    log("sticker refused", extra={"reason": reason or type(exc).__name__, "error": str(exc)[:200]})
    return Refusal(text)


def pack_for(ctx: CommandContext) -> tuple[str, str]:
    """The pack name and author for this user: their own (``.stickerpack``), else the settings, else
    the bot's name and the user's WhatsApp name."""
    from bot.models import StickerPreference
    from bot.runtime_settings import runtime_value

    pref = StickerPreference.objects.filter(session_name=ctx.session_name, user=ctx.user_key).first()
    default_pack = runtime_value("STICKER_PACK", session=ctx.session_name)
    default_author = runtime_value("STICKER_AUTHOR", session=ctx.session_name)
    pack = (pref.pack if pref else "") or default_pack or ctx.bot_name
    author = (pref.author if pref else "") or default_author or ctx.message.push_name or ctx.bot_name
    return pack, author


def split_pack(text: str) -> tuple[str, str]:
    """'My pack | Me' -> ('My pack', 'Me'); 'My pack' -> ('My pack', ''); refuses text over the limit."""
    pack, _sep, author = text.partition("|")
    pack, author = pack.strip(), author.strip()
    if len(pack) > PACK_TEXT_MAX or len(author) > PACK_TEXT_MAX:
        raise Refusal(_("Pack name and author can have at most %(n)d characters each.") % {"n": PACK_TEXT_MAX})
    return pack, author


def made_reply(ctx: CommandContext, media: Media, *, kind: str, gif_playback: bool = False) -> Reply:
    """A reply quoting the request whose media is stored for the sender (``bot.made_media``)."""
    from bot.made_media import made_media_store

    asset = made_media_store(session_name=ctx.session_name, kind=kind, media=media)
    return Reply(
        kind=kind,  # type: ignore[arg-type]
        chat=ctx.chat,
        asset=asset,
        media=media,
        gif_playback=gif_playback,
        reply_to=ctx.message.id,
        target=ctx.message.sender,
    )
