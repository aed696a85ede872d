from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from generation.prompt_import import PromptImportError, import_prompts
from safesora.taxonomy import PROMPT_TYPES


class Command(BaseCommand):
    help = "Import prompts from JSONL, a JSON list, CSV or SafeSora's eval-prompt.json.gz. All or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", help="Recorded on each prompt (default: the file name).")
        parser.add_argument("--default-type", choices=PROMPT_TYPES,
                            help="prompt_type for records that have none (default: such records are an error).")
        parser.add_argument("--format", choices=["jsonl", "json", "csv"], help="Override detection by extension.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        bar = tqdm(desc="reading", unit=" prompts", disable=options["no_progress"], file=self.stderr)
        try:
            report = import_prompts(path, source=options["source"], default_type=options["default_type"],
                                    fmt=options["format"], progress=bar.update)
        except PromptImportError as exc:
            raise CommandError(f"{path.name}: {exc}. Nothing was imported.") from None
        finally:
            bar.close()
        for where, text in report.duplicates[:20]:
            self.stdout.write(f"duplicate skipped ({where}): {text[:70]}")
        if len(report.duplicates) > 20:
            self.stdout.write(f"... and {len(report.duplicates) - 20} more duplicates")
        self.stdout.write(self.style.SUCCESS(report.summary()))
