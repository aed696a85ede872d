import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from annotation.aggregation import parse_share
from exports import runs
from exports.hub import HubError, push_to_hub
from exports.models import ExportState
from exports.options import ExportOptions, OptionsError
from exports.summary import empty_warning


def moment(value: str):
    """A date (midnight) or date-time; naive values are in the current time zone."""
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(f"not a date or date-time: {value!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
        parsed = timezone.datetime(day.year, day.month, day.day)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def share(value: str) -> float:
    try:
        return parse_share(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Command(BaseCommand):
    help = ("Export a release: SafeSora-format files, a Hugging Face dataset, TRL preference pairs and a "
            "manifest, into EXPORTS_ROOT/<name> (see docs/exports.md).")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="Release name (folder name).")
        parser.add_argument("--output", type=Path,
                            help="Release folder (default: EXPORTS_ROOT/<name>). Must not exist.")
        parser.add_argument("--seed", type=int, default=0, help="Seed of the train/test split by prompt.")
        parser.add_argument("--test-fraction", type=float, default=0.1,
                            help="Share of prompts (without a fixed split) put in test (default 0.1).")
        parser.add_argument("--min-agreement", type=share, default=0.0,
                            help="Answers with lower annotator agreement count as undecided: a share read to "
                                 "two decimals (0.67 or 2/3: at least 2 of 3 agree).")
        parser.add_argument("--include-incomplete", action="store_true",
                            help="Also export pairs that miss some of their required annotations.")
        parser.add_argument("--include-gold", action="store_true", help="Also export gold (control) pairs.")
        parser.add_argument("--generator", action="append", default=[], dest="generators",
                            help="Only pairs whose two videos come from these generators (repeatable).")
        parser.add_argument("--campaign", action="append", default=[], dest="campaigns",
                            help="Only pairs of these campaigns, by name (repeatable).")
        parser.add_argument("--since", type=moment, help="Only answers given at or after this date(-time).")
        parser.add_argument("--until", type=moment, help="Only answers given before this date(-time).")
        parser.add_argument("--no-videos", action="store_true", help="Write the records but no video files.")
        parser.add_argument("--license", default="cc-by-nc-4.0", help="License named in the dataset card.")
        parser.add_argument("--batch-prompts", type=int, default=250,
                            help="Prompts aggregated per batch: memory against database round trips.")
        parser.add_argument("--push-to-hub", metavar="REPO", help="Upload the hf/ folder to this dataset repo "
                            "(needs HF_TOKEN).")
        parser.add_argument("--public", action="store_true", help="Create the hub repo public (default private).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        try:
            options = ExportOptions(
                name=opts["name"], seed=opts["seed"], test_fraction=opts["test_fraction"],
                min_agreement=opts["min_agreement"], complete_only=not opts["include_incomplete"],
                exclude_gold=not opts["include_gold"], generators=tuple(opts["generators"]),
                campaigns=tuple(opts["campaigns"]), since=opts["since"], until=opts["until"],
                include_videos=not opts["no_videos"], license=opts["license"],
                prompts_per_batch=opts["batch_prompts"])
        except OptionsError as exc:
            raise CommandError(str(exc)) from None
        target = (opts["output"] or runs.default_target(options.name)).resolve()
        problem = runs.name_in_use(options.name, target)
        if problem:
            raise CommandError(f"{problem}; nothing was written")
        run = runs.create_run(options, target=target)

        bar = tqdm(desc="export", unit=" pairs", disable=opts["no_progress"], file=self.stderr)

        def progress(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.set_description(message[:40])
            bar.update(done - bar.n)

        try:
            run = runs.execute(run.pk, progress=progress)
        except KeyboardInterrupt:
            runs.cancel(run)
            raise CommandError("interrupted; nothing was written") from None
        finally:
            bar.close()
        if run.state != ExportState.SUCCEEDED:
            raise CommandError(f"export {run.pk} {run.state}: {run.error}")
        counts = run.manifest["counts"]
        self.stdout.write(
            f"preference pairs train/test: {counts['safesora']['preference']['train']}/"
            f"{counts['safesora']['preference']['test']}, label videos train/test: "
            f"{counts['safesora']['label']['train']}/{counts['safesora']['label']['test']}, "
            f"eval prompts: {counts['safesora']['eval_prompts']}; left out: {counts['pairs_skipped'] or 'none'}, "
            f"undecided (HF only): {counts['pairs_undecided']}")
        self.stdout.write(self.style.SUCCESS(f"export {run.pk} written to {run.output_path}"))
        warning = empty_warning(run)
        if warning:
            self.stdout.write(self.style.WARNING(f"WARNING: {warning}"))
        if opts["push_to_hub"]:
            try:
                url = push_to_hub(Path(run.output_path), opts["push_to_hub"], private=not opts["public"])
            except HubError as exc:
                raise CommandError(f"{exc}; the release is still at {run.output_path}") from None
            self.stdout.write(self.style.SUCCESS(f"pushed to {url}"))
