"""Set up the embedded demo: the whole loop, ready to look at.

Database, an admin, three crowdworkers and a reviewer, the bundled prompts, videos from the tiny
generators, a campaign with its pairs, two thirds of them already labelled by three simulated
annotators (`sim-annotator-N`, through the real engine, with realistic disagreement), an export
of those labels and a small moderation model trained on it. Idempotent: a second run keeps what
exists and adds only what is missing.

A project-level command: the demo assembles every stage, so no app owns it (generation never imports
annotation)."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db.models import F
from tqdm import tqdm

import generation
from annotation.models import Campaign
from annotation.pairing import build_pairs
from exports import runs
from exports.models import ExportRun, ExportState
from exports.options import ExportOptions
from exports.summary import export_summary
from generation.jobs import ACTIVE_STATES, create_jobs
from generation.models import Generator, Prompt, Video
from generation.prompt_import import import_prompts
from generation.runner import run_jobs
from generation.tasks import batches
from moderation.jobs import create_model, run_training
from moderation.models import ModelState, ModerationModel
from moderation.network import model_config
from moderation.train import TrainConfig
from safesora.roles import CROWDWORKER, REVIEWER, ensure_role_groups
from safesora.simulation import simulate_annotations, simulated_annotators

DEMO_PROMPTS = Path(generation.__file__).resolve().parent / "data" / "demo_prompts.jsonl"
DEMO_USERS = {  # username: (password, is_staff, role)
    "admin": ("admin-demo-pass", True, None),
    "worker": ("worker-demo-pass", False, CROWDWORKER),
    "worker2": ("worker2-demo-pass", False, CROWDWORKER),
    "worker3": ("worker3-demo-pass", False, CROWDWORKER),
    "reviewer": ("reviewer-demo-pass", False, REVIEWER),
}
DEMO_GENERATORS = ("tiny-wan", "tiny-cogvideox", "tiny-ltx")
DEMO_CAMPAIGN = "Demo campaign"
SIMULATED_PAIRS = 24  # of the campaign's 36: the rest is left for the people who log in
DEMO_EXPORT = "demo"
# A small, fast model (a few seconds on a CPU): the demo shows the report, not a useful classifier.
DEMO_TRAINING = TrainConfig(epochs=4, batch_size=8, patience=4,
                            model=model_config(frames=4, size=32, width=32, backbone="small", text="hashed"))


class Command(BaseCommand):
    help = ("Prepare the demo (idempotent): migrate, create demo users, import bundled prompts, generate "
            "videos with the tiny generators, and build the pairs of a demo campaign.")

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        call_command("migrate", interactive=False, verbosity=0)
        ensure_role_groups()
        self._users()
        report = import_prompts(DEMO_PROMPTS, source="demo")
        self.stdout.write(f"prompts: {report.summary()}")
        self._videos()
        campaign = self._campaign()
        self._simulated_labels(campaign)
        export = self._export()
        if export is not None:
            self._moderation(export)
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready (database: {settings.DATABASES['default']['NAME']}).\n"
            + "".join(f"  log in as {u} / {p}  ({_role_name(s, r)})\n" for u, (p, s, r) in DEMO_USERS.items())
            + "  sim-annotator-1..3 are simulated annotators (demo data); they cannot log in.\n"
        ))

    def _videos(self) -> None:
        """One video per bundled prompt from each of three tiny generators, made here on the CPU (the
        tiny pipelines take a second or so per video, so the demo needs no broker and no GPU)."""
        call_command("register_generators", tiny_only=True, verbosity=0)
        tiny = {g.name: g for g in Generator.objects.filter(checkpoint="", enabled=True)}
        generators = [tiny[n] for n in DEMO_GENERATORS if n in tiny] or list(tiny.values())[:3]
        jobs = create_jobs(Prompt.objects.filter(source="demo"), generators, [0])
        todo = list(batches(jobs, states=ACTIVE_STATES))  # `running` too: left over if a demo run was stopped
        with tqdm(total=jobs.count(), initial=jobs.count() - sum(len(ids) for _, ids in todo), unit="video",
                  desc="demo videos", disable=self.verbosity == 0) as bar:
            for _, job_ids in todo:
                report = run_jobs(job_ids)
                if report.error:
                    raise CommandError(f"The demo could not generate videos: {report.error}")
                bar.update(len(job_ids))
        self.stdout.write(f"videos: {Video.objects.filter(generator__in=generators).count()} from "
                          f"{', '.join(g.name for g in generators)}")

    def _campaign(self) -> Campaign:
        campaign, _ = Campaign.objects.get_or_create(
            name=DEMO_CAMPAIGN, defaults={"instructions": "Compare the two videos of each prompt. These are "
                                          "noisy videos from tiny random-weight models: label them as you see them."})
        campaign.workers.add(*get_user_model().objects.filter(
            username__in=[u for u, (_, _, role) in DEMO_USERS.items() if role == CROWDWORKER]))
        report = build_pairs(campaign, seed=0)
        self.stdout.write(f"campaign {campaign.name!r}: {report.summary()}")
        return campaign

    def _simulated_labels(self, campaign: Campaign) -> None:
        made = simulate_annotations(campaign, simulated_annotators(3), SIMULATED_PAIRS)
        complete = campaign.pairs.filter(annotation_count__gte=F("required_annotations")).count()
        self.stdout.write(f"simulated annotators: {made} new annotations; {complete} of "
                          f"{campaign.pairs.count()} pairs complete")

    def _export(self) -> ExportRun | None:
        """The default export of everything labelled so far (made once; later runs keep it)."""
        run = ExportRun.objects.filter(name=DEMO_EXPORT, state=ExportState.SUCCEEDED).order_by("-pk").first()
        if run is None:
            problem = runs.name_in_use(DEMO_EXPORT)
            if problem:
                self.stdout.write(self.style.WARNING(f"export {DEMO_EXPORT!r} not made: {problem}"))
                return None
            run = runs.execute(runs.create_run(ExportOptions(name=DEMO_EXPORT)).pk)
            if run.state != ExportState.SUCCEEDED:
                raise CommandError(f"The demo export {run.state}: {run.error}")
        self.stdout.write(f"export {run.name!r}: {export_summary(run)}")
        return run

    def _moderation(self, export: ExportRun) -> None:
        model = ModerationModel.objects.filter(export_run=export).order_by("-version").first()
        if model is None or model.state != ModelState.READY:
            model = model if model is not None else create_model(export.pk, DEMO_TRAINING, name="demo-small")
            model = run_training(model, progress=False)
        summary = model.summary()
        self.stdout.write(f"moderation v{model.version} ({model.name}): macro-F1 {_fmt(summary['macro_f1'])}, "
                          f"unsafe AUROC {_fmt(summary['unsafe_auroc'])} on "
                          f"{(model.metrics.get('test') or {}).get('samples', 0)} held-out videos (not active)")

    def _users(self) -> None:
        from django.contrib.auth.models import Group

        User = get_user_model()
        for username, (password, is_staff, role) in DEMO_USERS.items():
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_staff = user.is_superuser = is_staff
                user.save()
            if role:
                user.groups.add(Group.objects.get(name=role))


def _role_name(is_staff: bool, role: str | None) -> str:
    return "admin" if is_staff else role or ""


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"
