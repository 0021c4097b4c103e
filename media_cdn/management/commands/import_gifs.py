"""``manage.py import_gifs DIR``: validate, dedupe, convert and store every GIF in a directory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from media_cdn.pipeline import MediaError, gif_files, gif_ingest
from media_cdn.starter import starter_pack_install


class Command(BaseCommand):
    help = "Import reaction GIFs: each is checked (a real GIF, at most 15 MB), deduplicated and converted once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", nargs="?", type=Path, help="folder of .gif files")
        parser.add_argument("--category", default="", help="category stored on every imported GIF")
        parser.add_argument("--replace", action="store_true", help="replace a GIF whose name is already taken")
        parser.add_argument("--recursive", action="store_true", help="also look in sub-folders")
        parser.add_argument("--starter", action="store_true", help="(re)load the bundled starter pack")

    def handle(
        self, *args, directory: Path | None, category: str, replace: bool, recursive: bool, starter: bool, **options
    ) -> None:
        if starter:
            results = starter_pack_install()
            failed = [r for r in results if isinstance(r, MediaError)]
            for error in failed:
                self.stderr.write(f"FAILED {error}")
            self.stdout.write(f"starter pack: {len(results) - len(failed)} loaded, {len(failed)} failed")
            if directory is None:
                return
        if directory is None:
            raise CommandError("give a directory of GIFs (or --starter)")
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")

        files = gif_files(directory, recursive=recursive)
        counts: Counter[str] = Counter()
        with tqdm(files, unit="gif", desc="import", disable=None) as progress:
            for path in progress:
                try:
                    result = gif_ingest(path=path, category=category, replace=replace)
                except MediaError as exc:
                    counts["failed"] += 1
                    with progress.external_write_mode():
                        self.stderr.write(f"FAILED {path.name}: {exc}")
                    continue
                counts[result.status] += 1
                with progress.external_write_mode():
                    self.stdout.write(f"{result.status} {result.name}: {result.message}")
        self.stdout.write(
            f"{len(files)} file(s): {counts['created']} imported, {counts['replaced']} replaced, "
            f"{counts['duplicate']} duplicate(s), {counts['failed']} failed"
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(files)} file(s) failed (see the lines above)")
