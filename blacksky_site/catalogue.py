"""The translation catalogue: which texts the code marks for translation, and which a locale's ``.po`` lacks.

Imported by ``manage.py catalogue`` (a developer's tool) and by the tests that keep every locale
complete; no server process loads it. Django's ``makemessages`` cannot see a command's
``@command(help=...)`` (it must stay a literal the registry reads without importing), so the
texts are read here from the source: every ``_()``, ``gettext``, ``gettext_lazy``,
``gettext_noop``, ``ngettext``, ``pgettext`` call with a literal text, and every ``help=`` of an
``@command``. ``.po`` files are read and appended to here too, and compiled with GNU ``msgfmt``
(``--check-format``: a translation that drops or renames a ``%(name)s`` placeholder is refused).
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
SOURCE_DIRS = ("bot", "blacksky_site", "ops", "sessions_store", "media_cdn")
SINGULAR = {"_", "gettext", "gettext_lazy", "gettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}
CONTEXT = {"pgettext", "pgettext_lazy"}
HEADER = (
    "Content-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\nLanguage: {language}\n"
    "Plural-Forms: nplurals=2; plural=(n != 1);\n"
)


@dataclass
class Message:
    msgid: str
    plural: str = ""
    context: str = ""
    where: list[str] = field(default_factory=list)  # "bot/commands/core.py:42"

    @property
    def key(self) -> tuple[str, str]:
        return self.context, self.msgid


@dataclass
class Entry:
    msgid: str
    plural: str = ""
    context: str = ""
    strings: list[str] = field(default_factory=list)  # msgstr, or msgstr[0], msgstr[1], ...
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)

    @property
    def translated(self) -> bool:
        return bool(self.strings) and all(self.strings) and "fuzzy" not in self.flags


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.AST) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def messages_in_code(root: Path = ROOT) -> dict[tuple[str, str], Message]:
    """Every text the code marks for translation, with where it is."""
    found: dict[tuple[str, str], Message] = {}
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            if "migrations" in path.parts or "tests" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                name, args = _name(node.func), node.args
                message = None
                if name in SINGULAR and args and _literal(args[0]):
                    message = Message(_literal(args[0]) or "")
                elif name in PLURAL and len(args) >= 2 and _literal(args[0]) and _literal(args[1]):
                    message = Message(_literal(args[0]) or "", plural=_literal(args[1]) or "")
                elif name in CONTEXT and len(args) >= 2 and _literal(args[0]) and _literal(args[1]):
                    message = Message(_literal(args[1]) or "", context=_literal(args[0]) or "")
                elif name == "command":
                    helps = [_literal(k.value) for k in node.keywords if k.arg == "help"]
                    message = Message(helps[0]) if helps and helps[0] else None
                if message is None or not message.msgid:
                    continue
                where = f"{path.relative_to(root)}:{node.lineno}"
                found.setdefault(message.key, message).where.append(where)
    return found


# -- .po files ---------------------------------------------------------------------------------------
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    if "\n" not in text or text.endswith("\n") and text.count("\n") == 1:
        return '"' + escaped.replace("\n", "\\n") + '"'
    parts = escaped.split("\n")
    lines = [part + "\\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    return '""\n' + "\n".join(f'"{line}"' for line in lines)


def po_read(path: Path) -> tuple[str, dict[tuple[str, str], Entry]]:
    """The header's text and the entries of a ``.po`` file (obsolete ``#~`` entries are left out)."""
    header, entries = "", {}
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    for block in blocks:
        entry, target, started = Entry(""), None, False
        for line in block.splitlines():
            if line.startswith("#~") or not line.strip():
                continue
            if line.startswith("#,"):
                entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                entry.comments.append(line)
            elif line.startswith('"') and target is not None:
                _append(entry, target, _unquote(line))
            else:
                keyword, _sep, rest = line.partition(" ")
                target = keyword
                started = True
                if keyword.startswith("msgstr"):
                    entry.strings.append("")
                _append(entry, target, _unquote(rest))
        if not started:
            continue
        if entry.msgid == "" and not entry.context:
            header = entry.strings[0] if entry.strings else ""
            continue
        entries[(entry.context, entry.msgid)] = entry
    return header, entries


def _append(entry: Entry, target: str, text: str) -> None:
    if target == "msgid":
        entry.msgid += text
    elif target == "msgid_plural":
        entry.plural += text
    elif target == "msgctxt":
        entry.context += text
    elif target.startswith("msgstr"):
        entry.strings[-1] += text


def _entry_text(entry: Entry) -> str:
    lines = list(entry.comments)
    if entry.flags:
        lines.append("#, " + ", ".join(sorted(entry.flags)))
    if entry.context:
        lines.append(f"msgctxt {_quote(entry.context)}")
    lines.append(f"msgid {_quote(entry.msgid)}")
    if entry.plural:
        lines.append(f"msgid_plural {_quote(entry.plural)}")
        strings = entry.strings or ["", ""]
        lines += [f"msgstr[{i}] {_quote(text)}" for i, text in enumerate(strings)]
    else:
        lines.append(f"msgstr {_quote(entry.strings[0] if entry.strings else '')}")
    return "\n".join(lines)


def po_write(path: Path, header: str, entries: list[Entry]) -> None:
    head = Entry("", strings=[header])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join([_entry_text(head), *(_entry_text(e) for e in entries)]) + "\n", encoding="utf-8")


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def _is_formatted(text: str) -> bool:
    return bool(re.search(r"%(\([a-z_]+\))?[sdrf]", text))


def catalogue_missing(language: str, root: Path = ROOT) -> list[Message]:
    """The texts of the code that ``language``'s ``.po`` has no (finished) translation of."""
    path = po_path(language)
    _header, entries = po_read(path) if path.exists() else ("", {})
    return [m for key, m in messages_in_code(root).items() if key not in entries or not entries[key].translated]


def catalogue_update(language: str, root: Path = ROOT) -> tuple[int, int]:
    """Append the code's texts that ``language``'s ``.po`` lacks (with an empty msgstr) and drop the texts
    the code no longer has (git keeps them); how many were added and dropped."""
    path = po_path(language)
    header, entries = po_read(path) if path.exists() else (HEADER.format(language=language), {})
    in_code = messages_in_code(root)
    dropped = len(entries)
    entries = {key: entry for key, entry in entries.items() if key in in_code}
    dropped -= len(entries)
    added = 0
    for key, message in in_code.items():
        if key in entries:
            continue
        flags = {"python-format"} if _is_formatted(message.msgid) else set()
        entries[key] = Entry(
            message.msgid,
            plural=message.plural,
            context=message.context,
            strings=["", ""] if message.plural else [""],
            flags=flags,
            comments=[f"#: {message.where[0]}"],
        )
        added += 1
    po_write(path, header, list(entries.values()))
    return added, dropped


def mo_compile(po: Path, mo: Path) -> str:
    """Compile ``po`` into ``mo`` with GNU msgfmt (placeholders checked); '' or msgfmt's complaint."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        return "msgfmt is not installed (apt-get install gettext)"
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", str(mo), str(po)], capture_output=True, text=True, timeout=60
    )
    return "" if result.returncode == 0 else result.stderr.strip()
