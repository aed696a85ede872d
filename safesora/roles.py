"""The three roles. Admins are staff users; crowdworkers and reviewers are groups."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

CROWDWORKER = "crowdworker"
REVIEWER = "reviewer"
ROLE_GROUPS = (CROWDWORKER, REVIEWER)


def ensure_role_groups() -> None:
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    # Cache group names on the user object: a request asks this more than once.
    if not hasattr(user, "_role_names"):
        user._role_names = set(user.groups.values_list("name", flat=True))
    return role in user._role_names


def is_crowdworker(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, CROWDWORKER)


def is_reviewer(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.is_authenticated and (user.is_staff or has_role(user, REVIEWER))
