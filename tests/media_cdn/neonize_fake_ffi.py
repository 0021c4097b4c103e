"""Run in a subprocess (neonize never loads into the test process): build and send a reaction video
through a real neonize ``NewClient`` whose Go handle is a fake FFI, with every subprocess forbidden.

argv: <media file> <json of the Media fields> <kind> <caption> <mention,...>
Prints one JSON object describing what reached the fake Go side.
"""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from neonize.client import NewClient
from neonize.proto.Neonize_pb2 import (
    JID,
    SendMessageReturnFunction,
    SendResponse,
    UploadResponse,
    UploadReturnFunction,
)
from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
from neonize.utils.jid import build_jid

from bot.transport.base import Media
from bot.transport.neonize.media import media_send


def forbid(*args, **kwargs):
    raise RuntimeError(f"a subprocess was started while sending: {args[:1]}")


class FakeGo:
    def __init__(self):
        self.uploads = []
        self.sent = []

    def Upload(self, uuid, binary, length, media_type):  # noqa: N802 - the Go export's name
        data = bytes(binary)[:length]
        self.uploads.append({"bytes": length, "sha256": hashlib.sha256(data).hexdigest(), "media_type": media_type})
        response = UploadResponse(
            url="https://mmg.example/fake",
            DirectPath="/v/t62/fake",
            Handle="",
            MediaKey=b"k" * 32,
            FileEncSHA256=b"e" * 32,
            FileSHA256=hashlib.sha256(data).digest(),
            FileLength=length,
        )
        return UploadReturnFunction(UploadResponse=response).SerializeToString()

    def SendMessage(self, uuid, to_bytes, to_len, msg_bytes, msg_len):  # noqa: N802
        to = JID.FromString(bytes(to_bytes)[:to_len])
        self.sent.append((f"{to.User}@{to.Server}", Message.FromString(bytes(msg_bytes)[:msg_len])))
        return SendMessageReturnFunction(
            SendResponse=SendResponse(ID="3EB0FAKE", Timestamp=1)
        ).SerializePartialToString()


def main() -> None:
    media_file, fields, kind, caption, mentions = sys.argv[1:6]
    thumbnail = Path(os.environ["THUMBNAIL_FILE"]).read_bytes() if os.environ.get("THUMBNAIL_FILE") else b""
    media = Media(data=Path(media_file).read_bytes(), thumbnail_jpeg=thumbnail, **json.loads(fields))
    client = NewClient("unused.sqlite3", uuid="fake-ffi")
    fake = FakeGo()
    client._NewClient__client = fake
    chat = build_jid("120363012345678901", "g.us")
    subprocess.Popen = forbid  # from here on, ffprobe/ffmpeg (or anything else) would fail the send
    response = media_send(
        client, chat, media, kind=kind, caption=caption, mentions=[m for m in mentions.split(",") if m]
    )
    to, message = fake.sent[0]
    body = MessageToDict(message, preserving_proto_field_name=True)
    json.dump({"id": response.ID, "to": to, "uploads": fake.uploads, "message": body}, sys.stdout)


if __name__ == "__main__":
    main()
