"""python manage.py import_videos MANIFEST   (JSONL, JSON list, CSV, or a SafeSora release folder)"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from generation.video_import import Refused, import_videos, read_manifest
from safesora.taxonomy import PROMPT_TYPES


class Command(BaseCommand):
    help = ("Import videos made elsewhere with their prompt and generator (re-encoded to browser-ready "
            "H.264 mp4 when needed). Bad records are refused and listed; the rest are imported.")

    def add_arguments(self, parser):
        parser.add_argument("manifest", type=Path, help="manifest file, or a SafeSora release folder")
        parser.add_argument("--default-type", choices=PROMPT_TYPES, default=None,
                            help="prompt_type for new prompts whose record has none")
        parser.add_argument("--source", default=None, help="source recorded on new prompts (default: manifest name)")

    def handle(self, *args, manifest, default_type, source, **options):
        try:
            total = len(read_manifest(manifest)[1])
            with tqdm(total=total, unit="video", desc="importing", disable=options["verbosity"] == 0) as bar:
                report = import_videos(manifest, default_type=default_type, source=source, progress=bar.update)
        except Refused as exc:
            raise CommandError(f"{exc}. Nothing was imported.") from None
        for where, why in report.refused:
            self.stderr.write(f"refused {where}: {why}")
        self.stdout.write(report.summary())
        if report.refused:
            raise CommandError(f"{len(report.refused)} of {report.records} records refused (listed above); "
                               "the others were imported. Fix them and re-run: imported videos are skipped.")
