"""Log formatting for Heroku-style log drains: one greppable line per record.

``2026-11-28T14:02:11.512Z INFO bot.runtime connected session=default jid=1555...``
Extra fields passed with ``logger.info(msg, extra={...})`` become ``key=value`` pairs.
"""

from __future__ import annotations

import logging
import time

from blacksky_site import config

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


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
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}
        if extras:
            line += " " + " ".join(f"{k}={_quote(v)}" for k, v in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class RedactSecretsFilter(logging.Filter):
    """Masks the values of secret settings (tokens, keys, session data) wherever they appear."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets = sorted(config.secret_values(), key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "[redacted]")
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str):
                clean = value
                for secret in self.secrets:
                    clean = clean.replace(secret, "[redacted]")
                record.__dict__[key] = clean
        if redacted != message:
            record.msg, record.args = redacted, None
        return True
