"""python manage.py register_generators [--tiny-only]"""

from django.core.management.base import BaseCommand

from generation.generators import register_generators


class Command(BaseCommand):
    help = ("Create or update the generators the platform ships: one tiny random-weight twin per family "
            "(enabled) and the published checkpoints (created disabled: enabling one downloads its weights).")

    def add_arguments(self, parser):
        parser.add_argument("--tiny-only", action="store_true", help="Register only the tiny twins.")

    def handle(self, *args, tiny_only: bool = False, **options):
        report = register_generators(tiny_only=tiny_only)
        for label, names in (("created", report.created), ("updated", report.updated)):
            for name in names:
                self.stdout.write(f"  {label} {name}")
        self.stdout.write(self.style.SUCCESS(f"generators: {report.summary()}"))
