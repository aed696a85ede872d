"""python manage.py leaderboard [--prompts all|eval] [--output DIR]"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from preference import leaderboard


class Command(BaseCommand):
    help = ("Generator leaderboard: win rates between generators by each active reward/cost model, and unsafe rates "
            "per harm category by the active moderation model; writes leaderboard-<prompts>.csv and .png.")

    def add_arguments(self, parser):
        parser.add_argument("--prompts", choices=["all", "eval"], default="all",
                            help="all prompts (default) or only the eval split")
        parser.add_argument("--output", default=None, help="folder for the CSV and PNG (default DATA_DIR/leaderboard)")

    def handle(self, *args, **options):
        board = leaderboard.build(options["prompts"])
        if not board.models and not board.moderation_model:
            raise CommandError("no active reward, cost or moderation model: train one and activate it")
        for dimension in board.dimensions():
            self.stdout.write(f"\nwin rate on {dimension} ({board.models[dimension]}), row beats column:")
            self.stdout.write("  " + "".join(f"{g:>22}" for g in ["", *board.generators]))
            for row in board.matrix(dimension):
                cells = ["—" if c is None else (f"{c['win_rate']:.2f} (n={c['prompts']})" if c["prompts"] else "n=0")
                         for c in row["cells"]]
                self.stdout.write("  " + "".join(f"{x:>22}" for x in [row["generator"], *cells]))
        if board.moderation_model:
            self.stdout.write(f"\nunsafe rate by {board.moderation_model}:")
            for r in board.unsafe_rates:
                if r["category"] == "unsafe":
                    self.stdout.write(f"  {r['generator']:>20} {r['prompt_type']:>16}: {r['rate']:.3f} "
                                      f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}] of {r['videos']} videos")
        folder = Path(options["output"] or Path(settings.DATA_DIR) / "leaderboard")
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"leaderboard-{board.prompts}"
        stem.with_suffix(".csv").write_text(leaderboard.to_csv(board))
        stem.with_suffix(".png").write_bytes(leaderboard.to_png(board))
        self.stdout.write(self.style.SUCCESS(f"\nwrote {stem}.csv and {stem}.png"))
