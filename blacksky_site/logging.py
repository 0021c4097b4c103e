"""Log formatting for Heroku-style log drains: one greppable line per record.

``2026-11-28T14:02:11.512Z INFO bot.runtime connected session=default jid=1555...``
Extra fields passed with ``logger.info(msg, extra={...})`` become ``key=value`` pairs.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from blacksky_site import config

# Attributes every LogRecord has: an ``extra=`` key among them makes ``logger.info`` raise KeyError
# ("Attempt to overwrite 'module' in LogRecord"), so tests/site/test_log_extras.py checks every call.
RESERVED: frozenset[str] = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def _quote(value: object) -> str:
    text = str(value)
    if not text or any(ch in text for ch in ' "=\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """time, level, logger, message, then the record's extra fields as key=value."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(record.created))
        line = f"{stamp}.{int(record.msecs):03d}Z {record.levelname} {record.name} {record.getMessage()}"
        extras = {k: v for k, v in record.__dict__.items() if k not in RESERVED and not k.startswith("_")}
        if extras:
            line += " " + " ".join(f"{k}={_quote(v)}" for k, v in extras.items())
        if record.exc_text:  # already rendered (and redacted) by RedactSecretsFilter
            line += "\n" + record.exc_text
        elif record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class RedactSecretsFilter(logging.Filter):
    """Masks the values of secret settings (tokens, keys, session data) wherever they appear.

    The message, every extra, the traceback and the stack: an exception's text often quotes the
    value that broke (a URL with its password, a token in a request), so it is rendered here and
    redacted before any formatter sees it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets = sorted(config.secret_values(), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        for key, value in list(record.__dict__.items()):
            if key in RESERVED or key.startswith("_") or value is None or isinstance(value, (bool, int, float)):
                continue
            text = value if isinstance(value, str) else str(value)
            clean = self.redact(text)
            if clean != text:
                record.__dict__[key] = clean
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class DisallowedHostLine(logging.Filter):
    """Django's refusal of a Host header (``django.security.DisallowedHost``) as one WARNING line.

    Scanners send thousands of them; Django logs each at ERROR with a whole traceback. Nothing is
    wrong on our side, so: WARNING, no traceback, the host shown escaped and cut at 100 characters,
    the path, and nothing of the request object.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request = record.__dict__.pop("request", None)
        host = _header_host(request)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        record.msg, record.args = "request refused: host not allowed", None
        record.host = host[:100].encode("unicode_escape").decode("ascii") + ("..." if len(host) > 100 else "")
        record.path = str(getattr(request, "path", ""))[:200].encode("unicode_escape").decode("ascii")
        return True


def _header_host(request: object) -> str:
    """The host the client sent, read from the request's headers as ``get_host()`` reads them (Django's
    message quotes it twice, in quotes that the host itself may contain)."""
    meta = getattr(request, "META", None) or {}
    if getattr(settings, "USE_X_FORWARDED_HOST", False) and "HTTP_X_FORWARDED_HOST" in meta:
        return str(meta["HTTP_X_FORWARDED_HOST"])
    return str(meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "")
