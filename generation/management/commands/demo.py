"""Set up the embedded demo: database, an admin, a crowdworker, bundled prompts."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from generation.prompt_import import import_prompts
from safesora.roles import CROWDWORKER, ensure_role_groups

DEMO_PROMPTS = Path(__file__).resolve().parents[2] / "data" / "demo_prompts.jsonl"
DEMO_USERS = {  # username: (password, is_staff, role)
    "admin": ("admin-demo-pass", True, None),
    "worker": ("worker-demo-pass", False, CROWDWORKER),
}


class Command(BaseCommand):
    help = "Prepare the demo (idempotent): migrate, create demo users, import bundled prompts."

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        ensure_role_groups()
        self._users()
        report = import_prompts(DEMO_PROMPTS, source="demo")
        self.stdout.write(f"prompts: {report.summary()}")
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready (database: {settings.DATABASES['default']['NAME']}).\n"
            + "".join(f"  log in as {u} / {p}\n" for u, (p, _, _) in DEMO_USERS.items())
        ))

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
