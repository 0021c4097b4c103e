"""``manage.py import_gifs DIR``: validate, dedupe, convert and store every GIF in a directory,
and declare the reaction command each serves (``--command`` or a sidecar ``NAME.json``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from blacksky_site import tempfiles
from bot.gif_import import gif_import_plan
from bot.reaction_commands import Declaration, DeclarationError, reaction_command_save
from media_cdn.pipeline import MediaError, gif_files, gif_ingest
from media_cdn.starter import starter_pack_install


def disk_error_line(exc: OSError) -> str:
    """'no space left on the disk of /tmp/x (0 bytes free)' or the OS's own words, in one line."""
    where = exc.filename or tempfiles.process_temp_dir()
    if tempfiles.is_disk_full(exc):
        free = tempfiles.describe_disk_error(exc, where)["free_bytes"]
        return f"no space left on the disk of {where} ({free} bytes free); free some space or set TEMP_DIR"
    return f"{exc.strerror or exc} ({where})"


class Command(BaseCommand):
    help = (
        "Import reaction GIFs: each is checked (a real GIF, at most 15 MB), deduplicated and converted once; "
        "with --command (or a sidecar NAME.json) each also answers as the command .NAME."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", nargs="?", type=Path, help="folder of .gif files")
        parser.add_argument("--category", default="", help="category stored on every imported GIF")
        parser.add_argument("--replace", action="store_true", help="replace a GIF whose name is already taken")
        parser.add_argument("--recursive", action="store_true", help="also look in sub-folders")
        parser.add_argument("--starter", action="store_true", help="(re)load the bundled starter pack")
        declare = parser.add_argument_group("reaction commands (.NAME @user sends the GIF)")
        declare.add_argument("--command", action="store_true", help="each GIF answers as the command named after it")
        declare.add_argument("--caption", default="", help="caption with someone, e.g. '{actor} boings {target}'")
        declare.add_argument("--alone", default="", help="caption with nobody, e.g. '{actor} boings around'")
        declare.add_argument("--emoji", default="", help="appended to the caption")
        declare.add_argument("--aliases", default="", help="comma-separated other words (one GIF only)")

    def handle(self, *args, directory: Path | None, starter: bool, **options) -> None:
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
        files = gif_files(directory, recursive=options["recursive"])
        template = None
        if options["command"] or any(options[k] for k in ("caption", "alone", "emoji", "aliases")):
            aliases = tuple(a for a in options["aliases"].split(",") if a.strip())
            template = Declaration("", aliases, options["caption"], options["alone"], options["emoji"])
        try:
            plan = gif_import_plan(files, replace=options["replace"], template=template)
        except DeclarationError as exc:
            raise CommandError(str(exc)) from None
        counts: Counter[str] = Counter()
        for item in plan:  # every refusal first: nothing was converted for them
            if item.problem:
                counts["failed"] += 1
                self.stderr.write(f"FAILED {item.path.name}: {item.problem}")
        todo = [item for item in plan if not item.problem]
        with tqdm(todo, unit="gif", desc="import", disable=None) as progress:
            for item in progress:
                try:
                    result = gif_ingest(path=item.path, category=options["category"], replace=options["replace"])
                except MediaError as exc:
                    counts["failed"] += 1
                    with progress.external_write_mode():
                        self.stderr.write(f"FAILED {item.path.name}: {exc}")
                    continue
                except OSError as exc:  # a full temp or media disk: this file fails, the others go on
                    counts["failed"] += 1
                    with progress.external_write_mode():
                        self.stderr.write(f"FAILED {item.path.name}: {disk_error_line(exc)}")
                    continue
                counts[result.status] += 1
                line = f"{result.status} {result.name}: {result.message}"
                if item.declaration is not None:
                    reaction_command_save(declaration=item.declaration, asset=result.asset)
                    counts["commands"] += 1
                    line += f"; answers as .{item.declaration.name}"
                with progress.external_write_mode():
                    self.stdout.write(line)
        self.stdout.write(
            f"{len(files)} file(s): {counts['created']} imported, {counts['replaced']} replaced, "
            f"{counts['duplicate']} duplicate(s), {counts['failed']} failed, {counts['commands']} command(s) declared"
        )
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} of {len(files)} file(s) failed (see the lines above)")
