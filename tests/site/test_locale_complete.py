"""Every text the code marks for translation has one in every locale, and the committed .mo files are the .po's."""

from __future__ import annotations

import gettext
import shutil
from pathlib import Path

import pytest
from django.conf import settings

from blacksky_site import catalogue

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_in_the_code_has_a_translation(language):
    missing = catalogue.catalogue_missing(language)
    if missing:
        po = catalogue.po_path(language).relative_to(catalogue.ROOT)
        listed = "\n".join(f"  {m.where[0]}: {m.msgid!r}" for m in missing)
        pytest.fail(
            f"{len(missing)} text(s) marked for translation have no '{language}' translation in {po}:\n{listed}\n"
            f"To add them: run `python manage.py catalogue` (it appends each one to {po} with an empty msgstr), "
            f"write the translation into each empty msgstr (keep every %(name)s placeholder as it is; "
            f"remove a '#, fuzzy' line once the translation is right), run `python manage.py catalogue` again "
            f"(it compiles {po.with_suffix('.mo')}) and commit both files.",
            pytrace=False,
        )


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_compiled_from_the_po(language, tmp_path: Path):
    po = catalogue.po_path(language)
    fresh = tmp_path / "django.mo"
    error = catalogue.mo_compile(po, fresh)
    assert error == "", f"msgfmt refuses {po.relative_to(catalogue.ROOT)}: {error}"
    committed = po.with_suffix(".mo")
    assert committed.exists(), f"{committed.relative_to(catalogue.ROOT)} is missing: run `python manage.py catalogue`"
    with fresh.open("rb") as a, committed.open("rb") as b:
        expected, found = gettext.GNUTranslations(a)._catalog, gettext.GNUTranslations(b)._catalog
    stale = sorted(str(k) for k in set(expected) ^ set(found) | {k for k in expected if found.get(k) != expected[k]})
    assert not stale, (
        f"{committed.relative_to(catalogue.ROOT)} is not compiled from the current .po "
        f"({len(stale)} text(s) differ, e.g. {stale[:3]}): run `python manage.py catalogue` and commit the .mo"
    )


def test_a_locale_folder_exists_for_each_language_and_only_for_them():
    folders = {p.name for p in catalogue.LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / "django.po").exists()}
    assert folders == set(LANGUAGES)


def test_the_reader_finds_help_texts_plurals_and_lazy_texts(tmp_path: Path):
    source = tmp_path / "bot"
    source.mkdir()
    (source / "x.py").write_text(
        "from django.utils.translation import gettext_lazy, ngettext\n"
        "@command('x', category='c', help='Do x.')\n"
        "def x(ctx):\n"
        "    return ngettext('%(n)d cat', '%(n)d cats', 2), gettext_lazy('Lazy.'), _('Plain %(a)s'), _(variable)\n"
    )
    found = catalogue.messages_in_code(tmp_path)
    assert sorted(found) == [("", "%(n)d cat"), ("", "Do x."), ("", "Lazy."), ("", "Plain %(a)s")]
    assert found[("", "%(n)d cat")].plural == "%(n)d cats"
    assert found[("", "Do x.")].where == ["bot/x.py:2"]


def test_a_po_written_and_read_back_is_the_same(tmp_path: Path):
    entries = [
        catalogue.Entry("One line.", strings=["Una línea."], flags={"python-format"}),
        catalogue.Entry('Two\nlines with "quotes"\\', strings=['Dos\nlíneas con "comillas"\\']),
        catalogue.Entry("%(n)d day", plural="%(n)d days", strings=["%(n)d día", "%(n)d días"]),
    ]
    path = tmp_path / "django.po"
    catalogue.po_write(path, catalogue.HEADER.format(language="es"), entries)
    header, read = catalogue.po_read(path)
    assert header.startswith("Content-Type: text/plain; charset=UTF-8\n")
    assert [(e.msgid, e.plural, e.strings) for e in read.values()] == [(e.msgid, e.plural, e.strings) for e in entries]
    if shutil.which("msgfmt"):
        assert catalogue.mo_compile(path, tmp_path / "django.mo") == ""
