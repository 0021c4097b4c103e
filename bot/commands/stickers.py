"""Media commands: ``.sticker`` (``.s``), ``.take``, ``.toimg``, ``.tovideo`` and ``.stickerpack``.

Loaded in the bot child on first use (see bot.dispatch.registry). A sticker is made by the encoder
media_cdn uses for its renditions too (``media_cdn.sticker``), so both obey WhatsApp's limits:
512x512 WebP with transparent padding, still <= 100 KB, animated <= 500 KB and <= 10 s, with the
pack name and author WhatsApp shows. Each user may set their own pack and author
(``.stickerpack``), stored in the database; STICKER_PACK and STICKER_AUTHOR are the defaults.

A request without media, a file over STICKER_MAX_DOWNLOAD_MB, a damaged file, a bomb (a huge canvas,
thousands of frames) or pack text over 128 characters gets one sentence back and nothing else.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from bot.commands._sticker_media import (
    STICKER_FILE_MAX_BYTES,
    Refusal,
    fetched,
    made_reply,
    max_download_bytes,
    one_conversion,
    pack_for,
    refusal_for,
    source_media,
    split_pack,
)
from bot.dispatch.context import CommandContext
from bot.dispatch.registry import command
from bot.transport.base import Reply
from media_cdn.limits import MediaError
from media_cdn.media import Media

STICKER_ONLY = frozenset({"sticker"})
ENCODE_TIMEOUT = 30.0  # seconds per ffmpeg try: a dispatcher thread waits for it


def _sticker_media(made) -> Media:  # noqa: ANN001 - media_cdn.sticker.Sticker, imported lazily
    return Media(
        data=made.data,
        mimetype=made.mimetype,
        sha256=made.sha256,
        width=made.width,
        height=made.height,
        duration_seconds=made.duration_seconds,
    )


@command(
    "sticker",
    aliases=("s", "stiker"),
    category="media",
    help="Turn an image, a GIF or a short video into a sticker.",
    usage="(reply to an image, GIF or video, or send one with this as its caption)",
    cooldown=5,
)
def sticker(ctx: CommandContext) -> list[Reply] | Reply:
    from media_cdn.sticker import sticker_make

    ref = source_media(ctx)
    if ref is None:
        ctx.wrong_usage = True  # no work done: no cooldown spent
        return ctx.reply(
            _("Reply to an image, a GIF or a short video with %(cmd)s, or send one with %(cmd)s as its caption.")
            % {"cmd": f"{ctx.prefix}{ctx.invoked_as}"}
        )
    try:
        pack, author = pack_for(ctx)
        limit = max_download_bytes()
        with one_conversion(ctx), fetched(ctx, ref, max_bytes=limit) as (source, workdir):
            try:
                made = sticker_make(
                    source, workdir=workdir, pack=pack, author=author, max_bytes=limit, timeout=ENCODE_TIMEOUT
                )
            except MediaError as exc:
                raise refusal_for(exc) from None
    except Refusal as refusal:
        return ctx.reply(str(refusal))
    replies = [made_reply(ctx, _sticker_media(made), kind="sticker")]
    if made.trimmed:
        replies.append(ctx.reply(_("Stickers play for at most 10 seconds: I kept the first 10."), quote=False))
    return replies


@command(
    "take",
    aliases=("steal", "wm"),
    category="media",
    help="Re-tag a sticker with your pack name and author.",
    usage="[pack|author] (reply to a sticker)",
    cooldown=5,
)
def take(ctx: CommandContext) -> Reply:
    from media_cdn.sticker import sticker_retag

    ref = source_media(ctx, kinds=STICKER_ONLY)
    if ref is None:
        return ctx.reply(_("Reply to a sticker with %(cmd)s pack|author.") % {"cmd": f"{ctx.prefix}{ctx.invoked_as}"})
    try:
        pack, author = split_pack(ctx.arg_text)
        default_pack, default_author = pack_for(ctx)
        with fetched(ctx, ref, max_bytes=STICKER_FILE_MAX_BYTES) as (source, _workdir):
            try:
                made = sticker_retag(source, pack=pack or default_pack, author=author or default_author)
            except MediaError as exc:
                raise refusal_for(exc, sticker=True) from None
    except Refusal as refusal:
        return ctx.reply(str(refusal))
    return made_reply(ctx, _sticker_media(made), kind="sticker")


@command(
    "toimg",
    aliases=("toimage", "topng"),
    category="media",
    help="Turn a sticker into a picture (PNG).",
    usage="(reply to a sticker)",
    cooldown=5,
)
def toimg(ctx: CommandContext) -> Reply:
    from media_cdn.sticker import sticker_to_png

    ref = source_media(ctx, kinds=STICKER_ONLY)
    if ref is None:
        return ctx.reply(_("Reply to a sticker with %(cmd)s.") % {"cmd": f"{ctx.prefix}{ctx.invoked_as}"})
    try:
        with fetched(ctx, ref, max_bytes=STICKER_FILE_MAX_BYTES) as (source, _workdir):
            try:
                png = sticker_to_png(source)
            except MediaError as exc:
                raise refusal_for(exc, sticker=True) from None
    except Refusal as refusal:
        return ctx.reply(str(refusal))
    return made_reply(ctx, Media(data=png, mimetype="image/png", width=512, height=512), kind="image")


@command(
    "tovideo",
    aliases=("tomp4", "togif"),
    category="media",
    help="Turn an animated sticker into a looping video.",
    usage="(reply to an animated sticker)",
    cooldown=5,
)
def tovideo(ctx: CommandContext) -> Reply:
    from media_cdn.sticker import sticker_to_mp4

    ref = source_media(ctx, kinds=STICKER_ONLY)
    if ref is None:
        return ctx.reply(_("Reply to an animated sticker with %(cmd)s.") % {"cmd": f"{ctx.prefix}{ctx.invoked_as}"})
    try:
        with one_conversion(ctx), fetched(ctx, ref, max_bytes=STICKER_FILE_MAX_BYTES) as (source, workdir):
            try:
                data, width, height, seconds = sticker_to_mp4(source, workdir=workdir, timeout=ENCODE_TIMEOUT)
            except MediaError as exc:
                raise refusal_for(exc, sticker=True) from None
    except Refusal as refusal:
        return ctx.reply(str(refusal))
    video = Media(
        data=data, mimetype="video/mp4", width=width, height=height, duration_seconds=seconds, gif_playback=True
    )
    return made_reply(ctx, video, kind="video", gif_playback=True)


@command(
    "stickerpack",
    aliases=("packname", "setpack"),
    category="media",
    help="Show or set the pack name and author of the stickers the bot makes for you.",
    usage="[pack|author] | reset",
)
def stickerpack(ctx: CommandContext) -> Reply:
    from bot.models import StickerPreference

    text = ctx.arg_text.strip()
    if not text:
        pack, author = pack_for(ctx)
        return ctx.reply(_("Your stickers carry the pack %(pack)r by %(author)r.") % {"pack": pack, "author": author})
    if text.lower() == "reset":
        StickerPreference.objects.filter(session_name=ctx.session_name, user=ctx.user_key).delete()
        pack, author = pack_for(ctx)
        return ctx.reply(_("Back to the defaults: %(pack)r by %(author)r.") % {"pack": pack, "author": author})
    try:
        pack, author = split_pack(text)
    except Refusal as refusal:
        return ctx.reply(str(refusal))
    from media_cdn.sticker import clean_text

    pack, author = clean_text(pack), clean_text(author)
    StickerPreference.objects.update_or_create(
        session_name=ctx.session_name, user=ctx.user_key, defaults={"pack": pack, "author": author}
    )
    pack, author = pack_for(ctx)
    return ctx.reply(_("Your next stickers carry the pack %(pack)r by %(author)r.") % {"pack": pack, "author": author})
