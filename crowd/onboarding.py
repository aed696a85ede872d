"""Bulk onboarding from a CSV of people, one-time set-password links, and campaign invites.

The CSV import is all-or-nothing: every line is checked first and every problem is reported
with its line number; nothing is written unless the whole file is good.

Set-password links use Django's password-reset tokens (django.contrib.auth.tokens): a token is
derived from the account's password hash and last login, so it stops working as soon as the
password is set (one use) and after PASSWORD_RESET_TIMEOUT. Links are never stored: the page
shows them once, with a CSV copy to download.
"""

import csv
import io
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.tokens import default_token_generator
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from annotation.models import Campaign
from safesora.roles import CROWDWORKER, ROLE_GROUPS

from .enrolment import do_enrol, give_role
from .models import Invite, Source
from .payments import spreadsheet_safe

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
COLUMNS = ("username", "email", "role", "campaigns")


class OnboardingError(Exception):
    """The file cannot be imported; `errors` are sentences, each starting with its line."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass
class Person:
    line: int
    username: str
    email: str
    role: str
    campaigns: list[Campaign] = field(default_factory=list)


@dataclass
class NewAccount:
    username: str
    email: str
    role: str
    campaigns: str
    set_password_path: str


def parse_people(data: bytes) -> list[Person]:
    """Check a CSV of people (columns: username, email, role, campaigns); raise OnboardingError."""
    if len(data) > MAX_BYTES:
        raise OnboardingError([_("The file is larger than %(mb)d MB.") % {"mb": MAX_BYTES // 2**20}])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OnboardingError([_("The file is not UTF-8 text (byte %(at)d).") % {"at": exc.start}]) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise OnboardingError([_("line 1: the file is empty; expected a header: %(cols)s.") % {
            "cols": ", ".join(COLUMNS)}])
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or not ({"username", "email"} & set(header)):
        raise OnboardingError([_("line 1: the header must name some of %(cols)s (username or email at least); "
                                 "unknown: %(bad)s.") % {"cols": ", ".join(COLUMNS), "bad": ", ".join(unknown) or "-"}])
    reader.fieldnames = header
    campaigns = {c.name.casefold(): c for c in Campaign.objects.all()}
    User = get_user_model()
    people: list[Person] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    username_check = UnicodeUsernameValidator()
    for row in reader:
        line = reader.line_num
        if len(people) >= MAX_ROWS:
            errors.append(_("line %(line)d: more than %(max)d people in one file.") % {"line": line, "max": MAX_ROWS})
            break
        if None in row:
            errors.append(_("line %(line)d: more fields than the header has.") % {"line": line})
            continue
        values = {k: (v or "").strip() for k, v in row.items()}
        if not any(values.values()):
            continue
        problems: list[str] = []
        email = values.get("email", "")
        username = values.get("username", "") or email
        if not username:
            problems.append(_("give a username or an email"))
        else:
            try:
                username_check(username)
                if len(username) > 150:
                    raise ValidationError("too long")
            except ValidationError:
                problems.append(_("username “%(u)s” may have only letters, digits and @.+-_ (150 at most)") % {
                    "u": username})
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(_("“%(e)s” is not an email address") % {"e": email})
        role = values.get("role", "").lower() or CROWDWORKER
        if role not in ROLE_GROUPS:
            problems.append(_("role “%(r)s” is not one of %(roles)s (admins are made in the admin)") % {
                "r": role, "roles": ", ".join(ROLE_GROUPS)})
        chosen = []
        for name in filter(None, (n.strip() for n in values.get("campaigns", "").replace("|", ";").split(";"))):
            if name.casefold() in campaigns:
                chosen.append(campaigns[name.casefold()])
            else:
                problems.append(_("no campaign named “%(n)s”") % {"n": name})
        if chosen and role != CROWDWORKER:
            problems.append(_("campaigns are for crowdworkers, not for the role “%(r)s”") % {"r": role})
        key = username.casefold()
        if key and key in seen:
            problems.append(_("username “%(u)s” is already on line %(other)d") % {"u": username, "other": seen[key]})
        seen.setdefault(key, line)
        if problems:
            errors.append(_("line %(line)d: %(problems)s.") % {"line": line, "problems": "; ".join(problems)})
        else:
            people.append(Person(line, username, email, role, chosen))
    if not errors:
        # Existing accounts, in one query per column.
        taken = set(User.objects.annotate(key=Lower("username"))
                    .filter(key__in=[p.username.lower() for p in people]).values_list("key", flat=True))
        taken_emails = set(User.objects.annotate(key=Lower("email"))
                           .filter(key__in=[p.email.lower() for p in people if p.email]).values_list("key", flat=True))
        for p in people:
            if p.username.lower() in taken:
                errors.append(_("line %(line)d: an account “%(u)s” already exists.") % {
                    "line": p.line, "u": p.username})
            elif p.email and p.email.lower() in taken_emails:
                errors.append(_("line %(line)d: an account with the email %(e)s already exists.") % {
                    "line": p.line, "e": p.email})
    if errors:
        raise OnboardingError(errors)
    if not people:
        raise OnboardingError([_("The file lists nobody.")])
    return people


def set_password_path(user: AbstractBaseUser) -> str:
    """A one-time link (path) with which `user` chooses a password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("crowd:set_password", args=[uid, default_token_generator.make_token(user)])


@transaction.atomic
def do_onboard(people: list[Person]) -> list[NewAccount]:
    """Create the accounts (no usable password), give roles, enrol them; return their links."""
    User = get_user_model()
    created = []
    for person in people:
        user = User(username=person.username, email=person.email)
        user.set_unusable_password()
        user.save()
        give_role(user, person.role)
        for campaign in person.campaigns:
            do_enrol(user, campaign, Source.CSV)
        created.append(NewAccount(person.username, person.email, person.role,
                                  "; ".join(c.name for c in person.campaigns), set_password_path(user)))
    return created


def accounts_csv(accounts: list[NewAccount], base_url: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "email", "role", "campaigns", "set_password_link"])
    for a in accounts:
        writer.writerow([*(spreadsheet_safe(v) for v in (a.username, a.email, a.role, a.campaigns)),
                         base_url + a.set_password_path])
    return out.getvalue()


# --- invites ------------------------------------------------------------------------------------


class InviteError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def invite_problem(invite: Invite) -> str | None:
    """Why this invite cannot be used now, or None."""
    if not invite.is_active or not invite.campaign.is_active:
        return _("This invite was withdrawn.")
    if invite.expires_at <= timezone.now():
        when = timezone.localtime(invite.expires_at).strftime("%Y-%m-%d %H:%M")
        return _("This invite expired on %(when)s.") % {"when": when}
    if invite.uses >= invite.max_uses:
        return _("This invite was used its %(n)d times already.") % {"n": invite.max_uses}
    return None


def do_use_invite(invite: Invite, user: AbstractBaseUser) -> None:
    """Count one use (refused past expiry or the maximum, even under concurrent sign-ups) and enrol
    `user`. Call inside the transaction that created the account, so a refusal undoes it."""
    used = Invite.objects.filter(pk=invite.pk, is_active=True, expires_at__gt=timezone.now(),
                                 uses__lt=F("max_uses")).update(uses=F("uses") + 1)
    if not used:
        invite.refresh_from_db()
        raise InviteError(invite_problem(invite) or _("This invite cannot be used."))
    give_role(user, CROWDWORKER)
    do_enrol(user, invite.campaign, Source.INVITE)
