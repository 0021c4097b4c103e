"""The sticker commands from real neonize protobuf messages: an ``ImageMessage`` captioned ``.sticker``, a
text reply whose ``contextInfo.quotedMessage`` is a ``StickerMessage`` or a ``VideoMessage``, translated by
``translate.py``, downloaded through neonize's ``download_any`` (a fake Go FFI that serves the bytes), made
by the real encoder and sent as a real ``StickerMessage`` upload."""

from __future__ import annotations

import io
import random

import pytest

pytest.importorskip("neonize")

from neonize.proto import Neonize_pb2 as N  # noqa: E402
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import (  # noqa: E402
    ContextInfo,
    ExtendedTextMessage,
    ImageMessage,
    Message,
    StickerMessage,
    VideoMessage,
)
from neonize.utils.jid import Jid2String, build_jid  # noqa: E402
from PIL import Image  # noqa: E402

from bot.dispatch import build_router  # noqa: E402
from bot.dispatch.limits import PacingConfig  # noqa: E402
from bot.models import MadeMedia, StickerPreference  # noqa: E402
from bot.transport.neonize.client import NeonizeTransport  # noqa: E402
from bot.transport.neonize.translate import translate_message  # noqa: E402
from media_cdn.sticker import sticker_make  # noqa: E402
from media_cdn.webp_meta import webp_info, webp_pack  # noqa: E402
from tests.bot.dispatch_kit import Clock  # noqa: E402
from tests.bot.fixtures.neonize_events import ALICE, FakeGo, make_msg_ev  # noqa: E402

pytestmark = pytest.mark.django_db

BOT = build_jid("15550000000")
BOB = build_jid("15559876543")


class DownloadingGo(FakeGo):
    """The fake FFI, with whatsmeow's ``DownloadAny``: the bytes of whichever media the message names."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, bytes] = {}  # directPath -> bytes
        self.downloads: list[Message] = []

    def DownloadAny(self, uuid: bytes, msg_b: bytes, size: int) -> bytes:  # noqa: N802
        message = Message.FromString(msg_b[:size])
        self.downloads.append(message)
        for name in ("imageMessage", "videoMessage", "stickerMessage"):
            if message.HasField(name):
                data = self.files.get(getattr(message, name).directPath)
                if data is not None:
                    return N.DownloadReturnFunction(Binary=data).SerializePartialToString()
        return N.DownloadReturnFunction(Error="failed to download: 404").SerializePartialToString()


def png_bytes(size=(300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 220)).save(out, format="PNG")
    return out.getvalue()


def media_fields(path: str, data_len: int, mimetype: str) -> dict:
    return {
        "URL": "https://mmg.whatsapp.net" + path,
        "directPath": path,
        "mimetype": mimetype,
        "mediaKey": b"k" * 32,
        "fileSHA256": b"s" * 32,
        "fileEncSHA256": b"e" * 32,
        "fileLength": data_len,
    }


def image_ev(caption: str, *, path: str, data_len: int, msg_id: str = "3EB0IMG", view_once: bool = False):
    ev = make_msg_ev("", msg_id=msg_id)
    ev.Message.ClearField("conversation")
    image = ImageMessage(caption=caption, width=300, height=200, **media_fields(path, data_len, "image/png"))
    if view_once:
        ev.Message.viewOnceMessageV2.message.imageMessage.CopyFrom(image)
    else:
        ev.Message.imageMessage.CopyFrom(image)
    return ev


def reply_to(text: str, quoted: Message, *, msg_id: str = "3EB0REPLY", quoted_id: str = "3EB0QUOTED"):
    ev = make_msg_ev("", msg_id=msg_id)
    ev.Message.ClearField("conversation")
    context = ContextInfo(stanzaID=quoted_id, participant=Jid2String(BOB))
    context.quotedMessage.CopyFrom(quoted)
    ev.Message.extendedTextMessage.CopyFrom(ExtendedTextMessage(text=text, contextInfo=context))
    return ev


@pytest.fixture
def wired(settings, tmp_path):
    settings.OWNER_NUMBERS = []
    settings.BOT_PREFIX = "."
    settings.STICKER_PACK, settings.STICKER_AUTHOR = "Default pack", ""
    fake = DownloadingGo()
    transport = NeonizeTransport(session_name="stickers", dsn=str(tmp_path / "never-created.sqlite3"))
    transport.client._NewClient__client = fake
    transport.client.me = N.Device(JID=BOT)
    clock = Clock()
    router = build_router(
        transport=transport,
        session_name="stickers",
        clock=clock,
        sleep=clock.sleep,
        pacing=PacingConfig(enabled=False),
        rng=random.Random(1),
    )
    return transport, router, fake, clock


def route(wired, ev):
    transport, router, fake, clock = wired
    message = translate_message(ev)
    router.handle_and_send(message)
    clock.advance(10)  # past the commands' cooldown
    return message


def stickers_sent(fake) -> list:
    return [(to, m.stickerMessage) for to, m in fake.sent if m.HasField("stickerMessage")]


def texts_sent(fake) -> list[str]:
    return [m.extendedTextMessage.text for _, m in fake.sent if m.HasField("extendedTextMessage")]


def test_translate_reads_an_image_caption_and_a_quoted_sticker_as_media_references():
    message = translate_message(image_ev(".sticker", path="/v/img1", data_len=1234))
    assert (message.kind, message.text) == ("image", ".sticker")
    assert (message.media.kind, message.media.mimetype, message.media.size) == ("image", "image/png", 1234)
    assert (message.media.width, message.media.height) == (300, 200)
    assert message.media.handle.imageMessage.directPath == "/v/img1"
    assert message.quoted_media is None

    quoted = Message(stickerMessage=StickerMessage(isAnimated=True, **media_fields("/v/st1", 5000, "image/webp")))
    reply = translate_message(reply_to(".take", quoted))
    assert reply.media is None and reply.quoted_id == "3EB0QUOTED"
    assert (reply.quoted_media.kind, reply.quoted_media.animated, reply.quoted_media.size) == ("sticker", True, 5000)


def test_view_once_media_gives_no_reference():
    assert translate_message(image_ev(".sticker", path="/v/once", data_len=10, view_once=True)).media is None


def test_an_image_captioned_sticker_comes_back_as_a_real_sticker_message(wired):
    _transport, _router, fake, _clock = wired
    data = png_bytes()
    fake.files["/v/img1"] = data
    route(wired, image_ev(".sticker", path="/v/img1", data_len=len(data)))
    [(to, sticker)] = stickers_sent(fake)
    assert (to.User, to.Server) == (ALICE.User, "s.whatsapp.net")
    assert sticker.mimetype == "image/webp" and not sticker.isAnimated
    assert (sticker.width, sticker.height) == (512, 512)
    assert sticker.contextInfo.stanzaID == "3EB0IMG"  # it answers the picture
    assert sticker.directPath == "/v/fake" and sticker.fileLength > 0
    [(uploaded, _media_type)] = fake.uploads
    assert len(uploaded) <= 100 * 1024 and webp_info(uploaded).width == 512
    assert webp_pack(uploaded)["sticker-pack-name"] == "Default pack"
    assert webp_pack(uploaded)["sticker-pack-publisher"] == "Alice"  # no STICKER_AUTHOR: the sender's name
    assert MadeMedia.objects.count() == 0  # sent: its row is gone


def test_take_retags_a_quoted_animated_sticker_with_the_given_pack(wired, tmp_path):
    _transport, _router, fake, _clock = wired
    frames = [Image.new("RGB", (64, 64), (i * 60, 0, 0)) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    original = sticker_make(tmp_path / "a.gif", workdir=tmp_path, pack="Theirs", author="Bob").data
    fake.files["/v/st1"] = original
    quoted = Message(
        stickerMessage=StickerMessage(isAnimated=True, **media_fields("/v/st1", len(original), "image/webp"))
    )
    route(wired, reply_to(".take Mine | Me", quoted))
    [(_to, sticker)] = stickers_sent(fake)
    assert sticker.isAnimated
    [(uploaded, _)] = fake.uploads
    assert webp_pack(uploaded)["sticker-pack-name"] == "Mine" and webp_pack(uploaded)["sticker-pack-publisher"] == "Me"
    assert webp_info(uploaded).frames == 3


def test_a_declared_50_mb_video_is_refused_without_downloading(wired):
    _transport, _router, fake, _clock = wired
    quoted = Message(videoMessage=VideoMessage(seconds=300, **media_fields("/v/big", 50 * 1024 * 1024, "video/mp4")))
    route(wired, reply_to(".s", quoted))
    assert texts_sent(fake) == ["That file is 50 MB; I make stickers from files up to 16 MB."]
    assert fake.downloads == [] and stickers_sent(fake) == []


def test_a_failed_download_a_corrupt_image_and_no_media_get_one_reply_each(wired):
    _transport, _router, fake, _clock = wired
    route(wired, image_ev(".sticker", path="/v/gone", data_len=100, msg_id="3EB0A"))
    fake.files["/v/bad"] = png_bytes()[:60]
    route(wired, image_ev(".sticker", path="/v/bad", data_len=60, msg_id="3EB0B"))
    route(wired, make_msg_ev(".sticker", msg_id="3EB0C"))
    assert texts_sent(fake) == [
        "I could not download that media. Ask for it to be sent again, then retry.",
        "That file is damaged or not an image, GIF or video I can read.",
        "Reply to an image, a GIF or a short video with .sticker, or send one with .sticker as its caption.",
    ]
    assert stickers_sent(fake) == [] and MadeMedia.objects.count() == 0


def test_a_users_own_pack_is_stored_and_used(wired):
    _transport, _router, fake, _clock = wired
    route(wired, make_msg_ev(".stickerpack Cats | Ann", msg_id="3EB0P"))
    assert StickerPreference.objects.get(session_name="stickers", user=ALICE.User).pack == "Cats"
    route(wired, make_msg_ev(".stickerpack " + "x" * 10_000, msg_id="3EB0Q"))
    assert StickerPreference.objects.get(session_name="stickers", user=ALICE.User).author == "Ann"
    data = png_bytes()
    fake.files["/v/img2"] = data
    route(wired, image_ev(".s", path="/v/img2", data_len=len(data), msg_id="3EB0R"))
    [(uploaded, _)] = fake.uploads
    assert webp_pack(uploaded)["sticker-pack-name"] == "Cats"
    assert texts_sent(fake)[1] == "Pack name and author can have at most 128 characters each."


def test_a_second_conversion_while_one_runs_is_told_to_retry_and_downloads_nothing(wired, monkeypatch):
    from bot.commands import _sticker_media

    _transport, _router, fake, _clock = wired
    monkeypatch.setattr(_sticker_media, "CONVERSION_WAIT", 0.05)
    data = png_bytes()
    fake.files["/v/img3"] = data
    assert _sticker_media._CONVERTING.acquire(timeout=1)  # another dispatcher is converting
    try:
        route(wired, image_ev(".sticker", path="/v/img3", data_len=len(data), msg_id="3EB0BUSY"))
    finally:
        _sticker_media._CONVERTING.release()
    assert texts_sent(fake) == ["I am making another sticker right now; try again in a few seconds."]
    assert fake.downloads == []
    route(wired, image_ev(".sticker", path="/v/img3", data_len=len(data), msg_id="3EB0FREE"))
    assert len(stickers_sent(fake)) == 1


def test_take_of_a_quoted_sticker_that_is_no_webp_says_so(wired):
    _transport, _router, fake, _clock = wired
    fake.files["/v/fake-sticker"] = png_bytes()
    quoted = Message(stickerMessage=StickerMessage(**media_fields("/v/fake-sticker", 500, "image/webp")))
    route(wired, reply_to(".take A|B", quoted))
    assert texts_sent(fake) == ["That is not a sticker I can read."] and stickers_sent(fake) == []
