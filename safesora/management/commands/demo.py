"""Set up the embedded demo: database, an admin, a crowdworker, bundled prompts, videos from the
tiny generators, and a campaign with its pairs, so one can log in and label at once.

A project-level command: the demo assembles every stage, so no app owns it (generation never imports
annotation)."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

import generation
from annotation.models import Campaign
from annotation.pairing import build_pairs
from generation.jobs import ACTIVE_STATES, create_jobs
from generation.models import Generator, Prompt, Video
from generation.prompt_import import import_prompts
from generation.runner import run_jobs
from generation.tasks import batches
from safesora.roles import CROWDWORKER, ensure_role_groups

DEMO_PROMPTS = Path(generation.__file__).resolve().parent / "data" / "demo_prompts.jsonl"
DEMO_USERS = {  # username: (password, is_staff, role)
    "admin": ("admin-demo-pass", True, None),
    "worker": ("worker-demo-pass", False, CROWDWORKER),
}
DEMO_GENERATORS = ("tiny-wan", "tiny-cogvideox", "tiny-ltx")
DEMO_CAMPAIGN = "Demo campaign"


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
        self._campaign()
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready (database: {settings.DATABASES['default']['NAME']}).\n"
            + "".join(f"  log in as {u} / {p}\n" for u, (p, _, _) in DEMO_USERS.items())
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

    def _campaign(self) -> None:
        campaign, _ = Campaign.objects.get_or_create(
            name=DEMO_CAMPAIGN, defaults={"instructions": "Compare the two videos of each prompt. These are "
                                          "noisy videos from tiny random-weight models: label them as you see them."})
        campaign.workers.add(*get_user_model().objects.filter(username="worker"))
        report = build_pairs(campaign, seed=0)
        self.stdout.write(f"campaign {campaign.name!r}: {report.summary()}")

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
