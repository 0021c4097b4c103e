"""The languages the bot replies in, and ``BOT_LANG`` (a session's language; a chat's own is ``.lang``).

Imported by ``blacksky_site.config`` and by the settings (``LANGUAGES``). A language is listed here
only when its catalogue in ``locale/`` is complete (``tests/site/test_locale_complete.py`` checks it).
"""

from __future__ import annotations

from blacksky_site.variables import Variable

#: code -> the language's own name, as a user looks for it in ``.lang``
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}


def language_code(raw: str) -> str:
    """``'ES'``, ``'es-ES'``, ``'es_MX'`` -> ``'es'``; ValueError for a language the bot does not speak."""
    value = raw.strip().lower().replace("_", "-")
    code = value.split("-", 1)[0]
    if code not in LANGUAGES:
        choices = ", ".join(f"{c} ({name})" for c, name in LANGUAGES.items())
        raise ValueError(f"one of the bot's languages: {choices}")
    return code


LANGUAGE_VARIABLES: tuple[Variable, ...] = (
    Variable(
        "BOT_LANG",
        language_code,
        "en",
        "Language of the bot's replies for this session (en, es); a chat may choose its own with .lang.",
        chat=True,
    ),
)
