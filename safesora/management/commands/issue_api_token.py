"""Issue (or replace, or revoke) a user's API token."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from safesora.models import ApiToken


class Command(BaseCommand):
    help = ("Issue a new API token for a user and print it (once; only its hash is kept). "
            "An existing token of that user stops working.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true", help="delete the user's token instead")

    def handle(self, *args, username: str, revoke: bool, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        if revoke:
            deleted, _ = ApiToken.objects.filter(user=user).delete()
            self.stdout.write(f"revoked the token of {username}" if deleted else f"{username} had no token")
            return
        if not user.is_active:
            raise CommandError(f"{username} is not active")
        key = ApiToken.issue(user)
        self.stderr.write(f"API token for {username} (send as 'Authorization: Bearer <token>'):")
        self.stdout.write(key)
