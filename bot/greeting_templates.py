"""Welcome and goodbye templates: checked before they are stored, filled in when a member comes or goes.
Pure; imported by the bot child (the greeting commands and replies) and by the admin (the web).

A placeholder is a name in braces from ``PLACEHOLDERS``; any other name in braces is refused, and
filling in is a plain substitution (never ``str.format``: a template cannot reach an attribute).
Braces around nothing or around spaces (``:-{``, ``{}``, ``{ hi }``) are text.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

PLACEHOLDERS = ("mention", "name", "group", "desc", "count")
MAX_TEMPLATE_CHARS = 1000
_PLACEHOLDER = re.compile(r"\{([^{}\s]{1,40})\}")  # any word in braces: known ones are filled, others refused


class TemplateRefused(ValueError):
    """A template that may not be stored; ``str()`` is the translated sentence for the chat."""


def template_check(text: str) -> str:
    """The template to store (surrounding blanks dropped), or ``TemplateRefused`` saying why not."""
    template = text.strip()
    if not template:
        raise TemplateRefused(_("Give the text, e.g. Welcome {mention} to {group}!"))
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateRefused(
            _("A greeting can have at most %(max)d characters; this one has %(count)d.")
            % {"max": MAX_TEMPLATE_CHARS, "count": len(template)}
        )
    unknown = sorted({name for name in _PLACEHOLDER.findall(template) if name not in PLACEHOLDERS})
    if unknown:
        raise TemplateRefused(
            _("Unknown placeholder %(unknown)s. You can use %(known)s.")
            % {
                "unknown": ", ".join("{" + name + "}" for name in unknown),
                "known": " ".join("{" + name + "}" for name in PLACEHOLDERS),
            }
        )
    return template


def template_uses(template: str, *names: str) -> bool:
    """True when the template has any of these placeholders."""
    return any(name in names for name in _PLACEHOLDER.findall(template))


def template_render(template: str, values: dict[str, str]) -> str:
    """The template with each known placeholder replaced by its value."""
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]) if m[1] in PLACEHOLDERS else m[0], template)
