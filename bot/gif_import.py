"""``import_gifs``' plan: every name, sidecar and command clash checked before one GIF is converted.

Loaded by the management command only. Converting a GIF takes ffmpeg seconds; a batch that would
fail on its tenth file for a taken name or a clashing command must say so before the first. A GIF
declares the reaction command it serves by ``--command`` (named after the GIF) or by a sidecar
``NAME.json`` beside ``NAME.gif``::

    {"command": "boing", "aliases": ["boingo"], "caption": "{actor} boings {target}",
     "alone": "{actor} boings around", "emoji": "🦘", "help": "Boing someone."}
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.reaction_commands import Declaration, DeclarationError, declaration_check, declarations_clashes
from media_cdn.models import GifAsset
from media_cdn.pipeline import MediaError, gif_read, name_from_filename

SIDECAR_KEYS = {"command", "aliases", "caption", "alone", "emoji", "help"}
MAX_SIDECAR_BYTES = 4096


@dataclass(frozen=True)
class PlannedGif:
    path: Path
    name: str  # the asset name ("" when none could be made)
    declaration: Declaration | None
    problem: str = ""  # non-empty: refused before converting


def sidecar_read(path: Path) -> dict | None:
    """The sidecar of ``x.gif`` (``x.json``), or None; DeclarationError when it is unreadable."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        return None
    if sidecar.stat().st_size > MAX_SIDECAR_BYTES:
        raise DeclarationError(f"{sidecar.name} is over {MAX_SIDECAR_BYTES} bytes")
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DeclarationError(f"{sidecar.name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) - SIDECAR_KEYS:
        raise DeclarationError(f"{sidecar.name} must be an object with keys among {', '.join(sorted(SIDECAR_KEYS))}")
    if not all(isinstance(v, str) for k, v in data.items() if k != "aliases") or not (
        isinstance(data.get("aliases", []), list) and all(isinstance(a, str) for a in data.get("aliases", []))
    ):
        raise DeclarationError(f"{sidecar.name}: every value is text, 'aliases' a list of words")
    return data


def _declaration(name: str, sidecar: dict | None, template: Declaration | None) -> Declaration | None:
    if sidecar is None and template is None:
        return None
    base = template or Declaration(name="")
    sidecar = sidecar or {}
    return declaration_check(
        Declaration(
            name=sidecar.get("command") or name,
            aliases=tuple(sidecar.get("aliases", base.aliases)),
            caption_target=sidecar.get("caption", base.caption_target),
            caption_alone=sidecar.get("alone", base.caption_alone),
            emoji=sidecar.get("emoji", base.emoji),
            help=sidecar.get("help", base.help),
        )
    )


def _taken_by_other_bytes(path: Path, name: str) -> bool:
    sha = GifAsset.objects.filter(name=name).values_list("sha256", flat=True).first()
    if sha is None:
        return False
    try:
        return hashlib.sha256(gif_read(path)).hexdigest() != sha  # same bytes: a duplicate, not a clash
    except MediaError:
        return False  # the ingest reports the unreadable file itself


def gif_import_plan(files: list[Path], *, replace: bool, template: Declaration | None) -> list[PlannedGif]:
    """One entry per file, with what would refuse it; nothing is read beyond names, sidecars, checksums."""
    if template is not None and template.aliases and len(files) != 1:
        raise DeclarationError(f"--aliases names one command, but {len(files)} GIFs would share them")
    planned: list[PlannedGif] = []
    names = Counter()
    for path in files:
        try:
            name = name_from_filename(path.name)
            names[name] += 1
            declaration = _declaration(name, sidecar_read(path), template)
        except (MediaError, DeclarationError) as exc:
            planned.append(PlannedGif(path, "", None, str(exc)))
            continue
        problem = ""
        if names[name] > 1:
            problem = f"another file of this import is also named {name!r}; rename one"
        elif not replace and _taken_by_other_bytes(path, name):
            problem = f"name {name!r} is taken by a different GIF (use --replace)"
        planned.append(PlannedGif(path, name, declaration, problem))
    declared = [i for i, p in enumerate(planned) if p.declaration is not None and not p.problem]
    clashes = declarations_clashes([planned[i].declaration for i in declared], replace=replace)
    for i, problem in zip(declared, clashes, strict=True):
        if problem:
            item = planned[i]
            planned[i] = PlannedGif(item.path, item.name, item.declaration, problem)
    return planned
