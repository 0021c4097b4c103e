"""A WhatsApp chat in the terminal (contract in docs/architecture.md): stdin lines in, JSON lines out.

Each input line is one incoming message. Plain text comes from a default user in a private chat; a
JSON object may give ``chat``, ``sender``, ``text``, ``mentions``, ``quoted_id``, ``push_name``,
``from_me``, ``group`` (``name``, ``admins``, ``bot_admin``) to simulate a group whose metadata
``group_info`` then serves (defaults: no member is admin, the bot is), and ``media`` or
``quoted_media`` (``path``, ``mimetype``: a file as the message's media or the quoted message's,
``console_media``); ``revoke`` or ``edit`` make the line a delete or an edit
(``bot.transport.console_history``). Each outgoing action is one JSON object on stdout with ``chat``,
``kind``, ``text`` or ``caption``, ``mentions``, ``reply_to``, and for media (a sticker...)
``gif_playback``, ``mimetype``, ``bytes``, ``sha256``, ``asset``; group changes carry ``action`` and
``targets``, a poll its ``options``. Logs go to stderr. End of input: ``connect()`` returns and
``finished`` turns true, so the runtime drains its queue and exits 0.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import queue
import secrets
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from bot.transport.base import (
    GROUP_SERVER,
    ConnectionSignal,
    GroupInfo,
    HistoryEvent,
    IncomingMessage,
    MediaRef,
    Participant,
    Reply,
    SendResult,
    Transport,
    TransportError,
    jid_server,
    jid_user,
    user_jid,
)
from bot.transport.console_history import history_event, is_history_line
from bot.transport.console_media import MEDIA_FIELDS, ConsoleMediaError, media_copy, media_ref_parse, reply_render

logger = logging.getLogger(__name__)

DEFAULT_USER = "15551234567@s.whatsapp.net"
BOT_JID = "15550000000@s.whatsapp.net"
_EOF = object()
_TOO_LONG = object()
MAX_LINE_CHARS = 262_144  # a 65,536-character message as JSON with room to spare; longer is refused
MAX_DEPTH = 32  # the message format nests two levels; deeper is refused before json.loads recurses
# The fields an input line may have (docs/console.md lists each one).
INPUT_FIELDS = frozenset(
    {"chat", "sender", "text", "mentions", "quoted_id", "quoted_sender", "push_name", "from_me", "group", "id"}
    | set(MEDIA_FIELDS)
)


def json_depth_exceeds(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when brackets outside strings nest deeper than ``limit`` (one linear pass)."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


class ConsoleInputError(ValueError):
    """A line that looks like JSON but is not a valid message object."""


def as_jid(value: str, *, default_server: str = "s.whatsapp.net") -> str:
    """'1555...' or '+1 555...' -> '1555...@s.whatsapp.net'; a JID is returned as given."""
    value = str(value).strip()
    if "@" in value:
        return value
    digits = "".join(ch for ch in value if ch.isdigit())
    if not digits:
        raise ConsoleInputError(f"{value!r} is neither a JID nor a phone number")
    return f"{digits}@{default_server}"


class ConsoleTransport(Transport):
    """Reads messages from ``stdin`` and prints the bot's actions to ``stdout`` as JSON lines.

    Like WhatsApp's server, it takes a reply's ``message_id`` as the message's id and prints a resend
    of an id it already printed only once.
    """

    fixes_message_ids = True

    def __init__(
        self,
        *,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        me: str = BOT_JID,
        default_user: str = DEFAULT_USER,
    ) -> None:
        super().__init__()
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self._me = me
        self.default_user = default_user
        self.groups: dict[str, GroupInfo] = {}
        self._senders: dict[str, str] = {}  # message id -> sender, for quotes
        self._ids = itertools.count(1)
        self._out_ids = itertools.count(1)
        # Generated ids differ per run: handled ids persist, and a second run's CONSOLE000001 is a new message.
        self._run = secrets.token_hex(3).upper()
        self._sent_ids: set[str] = set()
        self._link_generations: dict[str, int] = {}
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._finished = False
        self.lines_read = 0
        self.bad_lines = 0
        self._lines: queue.Queue[object] = queue.Queue(maxsize=1000)  # bounded: stdin waits for us
        self._reader: threading.Thread | None = None

    # -- input ----------------------------------------------------------------------------------
    def parse_line(self, line: str) -> IncomingMessage | HistoryEvent | None:
        """One input line -> an IncomingMessage (None for a blank line). Raises ConsoleInputError."""
        stripped = line.strip()
        if not stripped:
            return None
        if not stripped.startswith("{"):
            return self._message(chat=self.default_user, sender=self.default_user, text=stripped)
        if json_depth_exceeds(stripped):
            raise ConsoleInputError(f"JSON nested deeper than {MAX_DEPTH} levels")
        try:
            data = json.loads(stripped)
        except RecursionError:
            raise ConsoleInputError("JSON nested too deeply") from None
        except json.JSONDecodeError as exc:
            raise ConsoleInputError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
        if not isinstance(data, dict):
            raise ConsoleInputError("a JSON line must be an object")
        return self._from_object(data)

    def _from_object(self, data: dict[str, Any]) -> IncomingMessage | HistoryEvent:
        if is_history_line(data):  # {"revoke": id} or {"edit": id, "text": ...}: bot.transport.console_history
            return history_event(data, console=self)
        unknown = set(data) - INPUT_FIELDS
        if unknown:
            raise ConsoleInputError(f"unknown field(s): {', '.join(sorted(unknown))}")
        text = data.get("text", "")
        if not isinstance(text, str):
            raise ConsoleInputError("'text' must be a string")
        sender = as_jid(data.get("sender") or self.default_user)
        group = data.get("group")
        default_chat = "120363000000000001@g.us" if group is not None else sender
        chat = as_jid(
            data.get("chat") or default_chat, default_server=GROUP_SERVER if group is not None else "s.whatsapp.net"
        )
        mentions = data.get("mentions") or []
        if not isinstance(mentions, list):
            raise ConsoleInputError("'mentions' must be a list of JIDs or phone numbers")
        is_group = jid_server(chat) == GROUP_SERVER
        if group is not None and not isinstance(group, dict):
            raise ConsoleInputError("'group' must be an object with name, admins, bot_admin")
        if is_group:
            self._remember_group(chat, sender, group or {})
        try:
            media = {
                name: media_ref_parse(data[name], name=name) for name in MEDIA_FIELDS if data.get(name) is not None
            }
        except ConsoleMediaError as exc:
            raise ConsoleInputError(str(exc)) from None
        quoted_id = str(data.get("quoted_id") or "")
        quoted_sender = data.get("quoted_sender") or self._senders.get(quoted_id, "")
        return self._message(
            chat=chat,
            sender=sender,
            text=text,
            mentions=tuple(as_jid(m) for m in mentions),
            quoted_id=quoted_id,
            quoted_sender=as_jid(quoted_sender) if quoted_sender else "",
            push_name=str(data.get("push_name") or ""),
            from_me=bool(data.get("from_me", False)),
            is_group=is_group,
            msg_id=str(data.get("id") or ""),
            kind=media["media"].kind if "media" in media else "text",
            **media,
        )

    def _message(self, *, chat: str, sender: str, text: str, msg_id: str = "", **fields: Any) -> IncomingMessage:
        msg_id = msg_id or f"CONSOLE{self._run}{next(self._ids):06d}"
        self._senders[msg_id] = sender
        return IncomingMessage(
            id=msg_id,
            chat=chat,
            sender=sender,
            text=text,
            timestamp=datetime.now(UTC),
            is_group=fields.pop("is_group", jid_server(chat) == GROUP_SERVER),
            **fields,
        )

    def _remember_group(self, chat: str, sender: str, spec: dict[str, Any]) -> None:
        """Build or update the simulated group: the sender joins; ``admins`` and ``bot_admin`` set roles."""
        current = self.groups.get(chat)
        members: dict[str, Participant] = {p.jid: p for p in current.participants} if current else {}
        name = str(spec.get("name") or (current.name if current else "Console group"))
        if current is None or "bot_admin" in spec:
            bot_admin = bool(spec.get("bot_admin", True))
            members[self._me] = Participant(jid=self._me, phone=jid_user(self._me), is_admin=bot_admin)
        admins = spec.get("admins")
        if admins is not None:
            if not isinstance(admins, list):
                raise ConsoleInputError("'group.admins' must be a list of JIDs or phone numbers")
            admin_jids = {as_jid(a) for a in admins}
            for jid in admin_jids:
                members[jid] = Participant(jid=jid, phone=jid_user(jid), is_admin=True)
            for jid, p in list(members.items()):
                if jid != self._me and jid not in admin_jids and p.is_admin:
                    members[jid] = replace(p, is_admin=False)
        if sender not in members:
            members[sender] = Participant(jid=sender, phone=jid_user(sender))
        self.groups[chat] = GroupInfo(chat=chat, name=name, participants=tuple(members.values()))

    def _read(self) -> None:
        """The one stdin reader of this transport (a reconnect reuses it): bounded lines onto ``_lines``."""
        try:
            while True:
                line = self.stdin.readline(MAX_LINE_CHARS + 1)
                if not line:
                    return
                if len(line) > MAX_LINE_CHARS and not line.endswith("\n"):
                    while True:  # drop the rest of the line without holding it
                        rest = self.stdin.readline(MAX_LINE_CHARS)
                        if not rest or rest.endswith("\n"):
                            break
                    self._lines.put(_TOO_LONG)
                    continue
                self._lines.put(line)
        except (OSError, ValueError) as exc:
            logger.warning("console input closed", extra={"error": str(exc)})
        finally:
            self._lines.put(_EOF)

    def _start_reader(self) -> None:
        with self._write_lock:
            if self._reader is None:
                self._reader = threading.Thread(target=self._read, name="console-stdin", daemon=True)
                self._reader.start()

    # -- Transport --------------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self._finished

    def connect(self) -> None:
        self._stop.clear()  # a reconnect after stop(): serve again, from the same reader
        self._start_reader()
        self.on_signal(ConnectionSignal(kind="connected", reason="console"))
        while not self._stop.is_set():
            try:
                item = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _EOF:
                self._lines.put(_EOF)  # a later connect() sees the end too
                self._finished = True
                logger.info("console input ended", extra={"lines": self.lines_read, "bad_lines": self.bad_lines})
                return
            self.lines_read += 1
            try:
                if item is _TOO_LONG:
                    raise ConsoleInputError(f"line longer than {MAX_LINE_CHARS} characters")
                message = self.parse_line(str(item))
            except (ValueError, TypeError, RecursionError) as exc:  # one bad line: one line on stderr, go on
                self.bad_lines += 1
                logger.warning("console line skipped", extra={"line_no": self.lines_read, "error": str(exc)[:200]})
                continue
            if message is not None:
                self.on_message(message)

    def stop(self) -> None:
        self._stop.set()

    def send(self, reply: Reply) -> SendResult:
        message_id = reply.message_id or f"CONSOLEOUT{self._run}{next(self._out_ids):06d}"
        line = self.render(reply)
        payload = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
        try:
            with self._write_lock:
                if message_id in self._sent_ids:
                    return SendResult(id=message_id, detail={"duplicate": True})
                self.stdout.write(payload + "\n")
                self.stdout.flush()
                self._sent_ids.add(message_id)
        except (OSError, ValueError) as exc:
            raise TransportError(f"console output closed: {exc}") from exc
        detail: dict[str, Any] = {}
        if reply.kind == "group":
            self._apply_group_action(reply)
            if reply.action in {"invite_link", "revoke_link"}:
                detail["link"] = self._invite_link(reply.chat, revoke=reply.action == "revoke_link")
        return SendResult(id=message_id, detail=detail)

    def _invite_link(self, chat: str, *, revoke: bool) -> str:
        """A stable simulated invite link per group; a revoke makes a new one."""
        generation = self._link_generations.get(chat, 0) + (1 if revoke else 0)
        self._link_generations[chat] = generation
        code = hashlib.sha256(f"{chat}:{generation}".encode()).hexdigest()[:22]
        return f"https://chat.whatsapp.com/{code}"

    def render(self, reply: Reply) -> dict[str, Any]:
        """The JSON object printed for one action (``console_media.reply_render``)."""
        return reply_render(reply)

    def download_media(self, ref: MediaRef, *, dest: Path, max_bytes: int) -> int:
        return media_copy(ref, dest=dest, max_bytes=max_bytes)

    def _apply_group_action(self, reply: Reply) -> None:
        """Keep the simulated group in step with what the bot did to it."""
        group = self.groups.get(reply.chat)
        if group is None:
            return
        members = {p.jid: p for p in group.participants}
        targets = [as_jid(t) for t in reply.targets] if reply.targets else []
        if reply.action == "add":
            for jid in targets:
                members.setdefault(jid, Participant(jid=jid, phone=jid_user(jid)))
        elif reply.action == "remove":
            for jid in targets:
                members.pop(jid, None)
        elif reply.action in {"promote", "demote"}:
            for jid in targets:
                p = members.get(jid) or Participant(jid=jid, phone=jid_user(jid))
                members[jid] = replace(p, is_admin=reply.action == "promote", is_super_admin=False)
        elif reply.action == "name":
            group = replace(group, name=reply.text)
        elif reply.action == "topic":
            group = replace(group, topic=reply.text)
        elif reply.action in {"announce", "unannounce"}:
            group = replace(group, announce=reply.action == "announce")
        self.groups[reply.chat] = replace(group, participants=tuple(members.values()))

    def group_info(self, chat: str) -> GroupInfo:
        if jid_server(chat) != GROUP_SERVER:
            raise TransportError(f"{chat} is not a group")
        group = self.groups.get(chat)
        if group is None:
            group = GroupInfo(
                chat=chat,
                name="Console group",
                participants=(Participant(jid=self._me, phone=jid_user(self._me), is_admin=True),),
            )
            self.groups[chat] = group
        return group

    def me(self) -> str:
        return self._me


__all__ = ["ConsoleTransport", "ConsoleInputError", "DEFAULT_USER", "BOT_JID", "as_jid", "user_jid"]
