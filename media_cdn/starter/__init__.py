"""The starter pack: one original reaction GIF per reaction, drawn by this project (``generate.py``).

The GIFs live next to this file (``gifs/<name>.gif``) and are loaded into the database after
``migrate`` (see ``media_cdn.apps``), so a fresh install can answer ``.hug`` without any import.
"""

from __future__ import annotations

from pathlib import Path

STARTER_DIR = Path(__file__).resolve().parent / "gifs"

# name -> category. "interaction" reactions read "@a hugs @b"; "expression" ones "@a smiles".
STARTER_REACTIONS: dict[str, str] = {
    "hug": "interaction",
    "pat": "interaction",
    "kiss": "interaction",
    "cuddle": "interaction",
    "slap": "interaction",
    "bonk": "interaction",
    "punch": "interaction",
    "poke": "interaction",
    "bite": "interaction",
    "highfive": "interaction",
    "yeet": "interaction",
    "kill": "interaction",
    "boop": "interaction",
    "smile": "expression",
    "happy": "expression",
    "wave": "expression",
    "dance": "expression",
    "cry": "expression",
    "blush": "expression",
    "laugh": "expression",
    "wink": "expression",
    "sleep": "expression",
}


def starter_files() -> list[Path]:
    """The committed starter GIFs, in manifest order (missing ones are skipped)."""
    return [STARTER_DIR / f"{name}.gif" for name in STARTER_REACTIONS if (STARTER_DIR / f"{name}.gif").is_file()]


def starter_pack_install(*, apps=None, workers: int = 2) -> list:
    """Ingest every starter GIF not yet in the database (by name or bytes); returns the results.

    Failures come back as MediaError items (and a warning line each); the rest are still loaded.
    """
    import logging

    from media_cdn.pipeline import MediaError, gifs_ingest_many

    log = logging.getLogger(__name__)
    items = [(STARTER_DIR / f"{name}.gif", name, category) for name, category in STARTER_REACTIONS.items()]
    results = gifs_ingest_many(items, workers=workers, apps=apps)
    failed = [r for r in results if isinstance(r, MediaError)]
    for error in failed:
        log.warning("starter gif not loaded", extra={"reason": str(error)})
    log.info("starter pack loaded", extra={"loaded": len(results) - len(failed), "failed": len(failed)})
    return results
