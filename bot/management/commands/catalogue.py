"""``manage.py catalogue [--check]``: keep every locale's ``.po`` in step with the code and compile its ``.mo``.

A developer's tool (no server process runs it): appends each text the code marks for translation
that a locale lacks (an empty msgstr to fill in), drops the ones the code no longer has, then compiles every ``.po`` with msgfmt. With
``--check`` it changes nothing and exits 1 when a text has no translation. See
:mod:`blacksky_site.catalogue` for what counts as a text.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Add the code's new texts to every locale's .po (to translate there) and compile the .mo files."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="Change nothing; exit 1 if a text is untranslated.")

    def handle(self, *args: Any, **options: Any) -> None:
        from blacksky_site.catalogue import catalogue_missing, catalogue_update, mo_compile, po_path

        languages = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
        untranslated = 0
        for language in languages:
            if not options["check"]:
                added, dropped = catalogue_update(language)
                if added or dropped:
                    self.stdout.write(
                        f"{po_path(language)}: {added} new text(s) to translate, {dropped} gone from the code"
                    )
            missing = catalogue_missing(language)
            untranslated += len(missing)
            for message in missing:
                self.stdout.write(f"  {language} untranslated: {message.where[0]}  {message.msgid!r}")
            if not options["check"]:
                error = mo_compile(po_path(language), po_path(language).with_suffix(".mo"))
                if error:
                    raise CommandError(f"{po_path(language)}: {error}")
        if untranslated and options["check"]:
            raise CommandError(f"{untranslated} text(s) without a translation")
        self.stdout.write(f"{len(languages)} locale(s), {untranslated} text(s) left to translate")
