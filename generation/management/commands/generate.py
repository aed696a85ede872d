"""python manage.py generate --prompts all --generators NAME... --seeds N

Without a broker (the embedded default) the jobs run here, one batch after another. With one,
they go to the generators' queues and this command follows their progress in the database
until they are done (or returns at once with --no-wait).
"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, QuerySet
from tqdm import tqdm

from generation import jobs as job_states
from generation.models import GenerationJob, Generator, JobState, Prompt
from generation.tasks import enqueue, run_jobs


def state_counts(jobs: QuerySet) -> dict[str, int]:
    counts = dict.fromkeys(JobState.values, 0)
    counts.update(jobs.order_by().values_list("state").annotate(n=Count("id")))
    return counts


class Command(BaseCommand):
    help = "Generate videos: one job per prompt x generator x seed, run in-process or on the GPU workers."

    def add_arguments(self, parser):
        parser.add_argument("--prompts", nargs="+", metavar="all|ID", default=None,
                            help="'all', or prompt ids")
        parser.add_argument("--source", default=None, help="the prompts imported from this source")
        parser.add_argument("--generators", nargs="+", metavar="NAME", default=None,
                            help="generator names (default: every enabled generator)")
        parser.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds per prompt (0..N-1)")
        parser.add_argument("--first-seed", type=int, default=0, help="start the seeds here")
        parser.add_argument("--batch-size", type=int, default=None,
                            help="jobs per pipeline call where the family allows it (GENERATION_BATCH_SIZE)")
        parser.add_argument("--retry-failed", action="store_true", help="run failed and cancelled jobs again")
        parser.add_argument("--queued", action="store_true",
                            help="(re)send every queued job of these generators, e.g. after the broker lost them")
        parser.add_argument("--no-wait", action="store_true", help="return once the jobs are enqueued")
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between progress checks")
        parser.add_argument("--best-of", type=int, default=None, metavar="N",
                            help="generate N seeds per prompt and keep the best by the active preference models "
                                 "(docs/preference.md)")
        parser.add_argument("--select", nargs="+", default=["reward"], metavar="RULE",
                            help="with --best-of: reward (default), or reward-with-cost-limit C")

    def handle(self, *args, **options):
        best_of = self._best_of(options)
        generators = self._generators(options["generators"])
        if options["queued"]:
            jobs = GenerationJob.objects.filter(generator__in=generators, state=JobState.QUEUED)
        else:
            prompts = self._prompts(options["prompts"], options["source"])
            if options["seeds"] < 1 or options["first_seed"] < 0:
                raise CommandError("--seeds must be at least 1 and --first-seed not negative")
            count = best_of[0] if best_of else options["seeds"]
            seeds = range(options["first_seed"], options["first_seed"] + count)
            jobs = job_states.create_jobs(prompts, generators, seeds)
        ids = list(jobs.values_list("id", flat=True))
        jobs = GenerationJob.objects.filter(id__in=ids)
        if options["retry_failed"]:
            job_states.retry(jobs)
        counts = state_counts(jobs)
        done = sum(counts[s] for s in job_states.FINAL_STATES)
        self.stdout.write(f"{len(ids)} jobs on {', '.join(g.name for g in generators)}: "
                          f"{counts[JobState.QUEUED]} to run, {done} finished already")
        quiet = options["verbosity"] == 0
        in_process = run_jobs.app.conf.task_always_eager
        with tqdm(total=len(ids), initial=done, unit="video", desc="generating", disable=quiet) as bar:
            sent = enqueue(jobs, options["batch_size"], on_sent=bar.update if in_process else None)
            if not in_process:
                queues = sorted({g.queue_name for g in generators})
                bar.write(f"sent {sent} jobs to {', '.join(queues)}")
                if options["no_wait"]:
                    return
                self._follow(jobs, bar, options["poll"])
        self._report(jobs)
        if best_of:
            self._select_best(jobs, *best_of)

    def _best_of(self, options) -> tuple[int, str, float | None] | None:
        """(N, rule, cost limit) of --best-of, checked before anything is generated; None without it."""
        if options["best_of"] is None:
            return None
        from preference.bestofn import check_ready
        from preference.scoring import NoActiveModel

        n, select = options["best_of"], options["select"]
        if n < 2:
            raise CommandError("--best-of needs at least 2 candidates")
        if options["no_wait"] or options["queued"]:
            raise CommandError("--best-of waits for its candidates: not with --no-wait or --queued")
        rule, limit = select[0], None
        if rule == "reward-with-cost-limit":
            try:
                (limit,) = map(float, select[1:])
            except ValueError:
                raise CommandError("--select reward-with-cost-limit needs one number, the cost limit") from None
        elif len(select) != 1:
            raise CommandError("--select reward takes no value")
        try:
            check_ready(rule)
        except (NoActiveModel, ValueError) as exc:
            raise CommandError(f"--best-of: {exc}") from exc
        return n, rule, limit

    def _select_best(self, jobs: QuerySet, n: int, rule: str, limit: float | None) -> None:
        from generation.models import Video
        from preference.bestofn import select

        chosen = select(list(Video.objects.filter(job__in=jobs).select_related("generator")), rule, limit)
        self.stdout.write(f"best of {n}: kept {len(chosen)} videos by {rule}"
                          + (f" (cost limit {limit:g})" if limit is not None else "")
                          + "; every candidate's scores are in the admin (Best-of-N choices)")

    def _generators(self, names: list[str] | None) -> list[Generator]:
        if not names:
            generators = list(Generator.objects.filter(enabled=True))
            if not generators:
                raise CommandError("No enabled generators. Register some (register_generators) or add one "
                                   "in the admin.")
            return generators
        found = {g.name: g for g in Generator.objects.filter(name__in=names)}
        unknown = [n for n in names if n not in found]
        if unknown:
            known = ", ".join(Generator.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"Unknown generator(s): {', '.join(unknown)} (known: {known})")
        disabled = [n for n in names if not found[n].enabled]
        if disabled:
            raise CommandError(f"Disabled generator(s): {', '.join(disabled)}; enable them in the admin first")
        return [found[n] for n in names]

    def _prompts(self, given: list[str] | None, source: str | None) -> QuerySet:
        if not given and source is None:
            raise CommandError("Say which prompts: --prompts all, --prompts ID..., or --source NAME")
        prompts = Prompt.objects.all()
        if source is not None:
            prompts = prompts.filter(source=source)
        if given and given != ["all"]:
            prompts = prompts.filter(id__in=given)
            missing = set(given) - set(prompts.values_list("id", flat=True))
            if missing:
                raise CommandError(f"Unknown prompt id(s): {', '.join(sorted(missing)[:5])}")
        if not prompts.exists():
            raise CommandError("No prompts match.")
        return prompts

    def _follow(self, jobs: QuerySet, bar: tqdm, poll: float) -> None:
        try:
            while True:
                counts = state_counts(jobs)
                bar.n = sum(counts[s] for s in job_states.FINAL_STATES)
                bar.set_postfix(running=counts[JobState.RUNNING], failed=counts[JobState.FAILED], refresh=False)
                bar.refresh()
                if bar.n >= bar.total:
                    return
                time.sleep(poll)
        except KeyboardInterrupt:
            bar.write("Stopped following; the jobs go on on the workers.")
            raise SystemExit(130) from None

    def _report(self, jobs: QuerySet) -> None:
        counts = state_counts(jobs)
        self.stdout.write(", ".join(f"{n} {state}" for state, n in counts.items() if n))
        failed = jobs.filter(state=JobState.FAILED)
        for job in failed.select_related("generator")[:5]:
            self.stderr.write(f"job {job.id} ({job.generator.name}, seed {job.seed}) failed: {job.error}")
        if counts[JobState.FAILED]:
            raise CommandError(f"{counts[JobState.FAILED]} jobs failed; see the admin, or --retry-failed")
