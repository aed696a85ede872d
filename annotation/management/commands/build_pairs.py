"""python manage.py build_pairs --campaign NAME [--max-per-prompt K] [--seed S]"""

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Campaign
from annotation.pairing import build_pairs
from generation.models import Prompt


class Command(BaseCommand):
    help = ("Pair each prompt's videos from different generators for a campaign (left/right at random). "
            "Re-running adds only new pairs.")

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="campaign name")
        parser.add_argument("--max-per-prompt", type=int, default=None, metavar="K",
                            help="at most K pairs per prompt (default: every combination)")
        parser.add_argument("--seed", type=int, default=0, help="seed for the choice of pairs and sides")
        parser.add_argument("--source", default=None, help="only prompts imported from this source")
        parser.add_argument("--strategy", choices=["random", "uncertain"], default=None,
                            help="with --max-per-prompt: which pairs to build, at random or those the active reward "
                                 "model finds hardest to tell apart first (default: the campaign's setting)")

    def handle(self, *args, campaign, max_per_prompt, seed, source, strategy=None, **options):
        try:
            target = Campaign.objects.get(name=campaign)
        except Campaign.DoesNotExist:
            names = ", ".join(Campaign.objects.values_list("name", flat=True)[:20]) or "none yet"
            raise CommandError(f"No campaign named {campaign!r} (campaigns: {names}). "
                               "Create it in the admin first.") from None
        if max_per_prompt is not None and max_per_prompt < 1:
            raise CommandError("--max-per-prompt must be at least 1")
        prompts = Prompt.objects.filter(source=source) if source is not None else None
        from preference.scoring import NoActiveModel

        try:
            report = build_pairs(target, max_per_prompt=max_per_prompt, seed=seed, prompts=prompts, strategy=strategy)
        except NoActiveModel as exc:
            raise CommandError(f"--strategy uncertain: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"{target.name}: {report.summary()}"))
