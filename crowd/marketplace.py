"""Prolific and Amazon Mechanical Turk: the entry URL's parameters, the worker's account, completion.

Prolific opens the study URL with `?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…` and takes people back
with `https://app.prolific.com/submissions/complete?cc=<completion code>`. MTurk (an external
question or a survey link) opens it with `?workerId=…&assignmentId=…&hitId=…&turkSubmitTo=…`;
while a worker only previews the HIT, `assignmentId` is ASSIGNMENT_ID_NOT_AVAILABLE and no
workerId is given. Either way the worker gets an account without a password, identified by
(marketplace, worker id) alone, as Potato and Label Studio do: whoever has the link and the id
is that worker, so the account can do nothing but label this campaign.
"""

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import AssignmentState
from safesora.db import fetch_prepared
from safesora.roles import CROWDWORKER

from .enrolment import do_enrol, give_role
from .models import ID_PATTERN, CrowdSettings, Enrolment, Marketplace, MarketplaceAccount

PARAMS = {
    Marketplace.PROLIFIC: ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    Marketplace.MTURK: ("workerId", "hitId", "assignmentId"),
}
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
MTURK_SUBMIT_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")
PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete"
_ID = re.compile(ID_PATTERN)


class EntryError(Exception):
    """Bad entry parameters; `errors` maps each parameter to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Entry:
    marketplace: str
    worker_id: str
    study_id: str  # Prolific STUDY_ID, MTurk hitId
    session_id: str  # Prolific SESSION_ID, MTurk assignmentId
    submit_to: str = ""
    preview: bool = False


def parse_entry(crowd: CrowdSettings, query) -> Entry:
    """Validate the entry URL's query for the campaign's marketplace; raise EntryError."""
    names = PARAMS[crowd.marketplace]
    values = {name: (query.get(name) or "").strip() for name in names}
    if crowd.marketplace == Marketplace.MTURK and values["assignmentId"] == MTURK_PREVIEW:
        return Entry(crowd.marketplace, "", "", "", preview=True)
    errors = {}
    for name, value in values.items():
        if not value:
            errors[name] = _("missing")
        elif not _ID.match(value):
            errors[name] = _("must be 1 to 64 letters, digits, _ or -")
    if (crowd.marketplace == Marketplace.PROLIFIC and crowd.prolific_study_id and "STUDY_ID" not in errors
            and values["STUDY_ID"] != crowd.prolific_study_id):
        errors["STUDY_ID"] = _("this link belongs to another study")
    submit_to = ""
    if crowd.marketplace == Marketplace.MTURK and query.get("turkSubmitTo"):
        submit_to = query["turkSubmitTo"].strip().rstrip("/")
        if submit_to not in MTURK_SUBMIT_HOSTS:
            errors["turkSubmitTo"] = _("must be one of %(hosts)s") % {"hosts": ", ".join(MTURK_SUBMIT_HOSTS)}
    if errors:
        raise EntryError(errors)
    worker, study, session = (values[n] for n in names)
    return Entry(crowd.marketplace, worker, study, session, submit_to)


def do_enter(crowd: CrowdSettings, entry: Entry) -> Enrolment:
    """Find or create the worker's password-less account and enrol it in the campaign."""
    User = get_user_model()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                account = MarketplaceAccount.objects.select_related("user").filter(
                    marketplace=entry.marketplace, worker_id=entry.worker_id).first()
                if account is None:
                    user = User(username=_free_username(f"{entry.marketplace}-{entry.worker_id}"))
                    user.set_unusable_password()
                    user.save()
                    give_role(user, CROWDWORKER)
                    account = MarketplaceAccount.objects.create(user=user, marketplace=entry.marketplace,
                                                                worker_id=entry.worker_id)
                ids = {"study_id": entry.study_id, "session_id": entry.session_id}
                if entry.submit_to:
                    ids["submit_to"] = entry.submit_to
                return do_enrol(account.user, crowd.campaign, entry.marketplace, **ids)
        except IntegrityError:
            continue  # the same worker opened the link twice at once: the other request made the account
    raise EntryError({"workerId" if entry.marketplace == Marketplace.MTURK else "PROLIFIC_PID": _("try again")})


def _free_username(base: str) -> str:
    User = get_user_model()
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


# --- finishing ------------------------------------------------------------------------------------


@dataclass
class Progress:
    done: int  # pairs submitted in the campaign
    quota: int | None
    out_of_pairs: bool
    closed: bool

    @property
    def finished(self) -> bool:
        return self.closed or self.out_of_pairs or (self.quota is not None and self.done >= self.quota)


# One statement: it runs before every pair a marketplace worker is served. The count is bounded
# by the quota; the open-pair probe stops at the first pair found (the engine's queue index).
_PROGRESS_SQL = """
SELECT
    (SELECT count(*) FROM annotation_annotation an JOIN annotation_pair p ON p.id = an.pair_id
     WHERE an.user_id = %(user)s AND p.campaign_id = %(campaign)s),
    EXISTS (SELECT 1 FROM annotation_assignment a JOIN annotation_pair p ON p.id = a.pair_id
            WHERE a.user_id = %(user)s AND a.state = %(active)s AND a.expires_at > %(now)s
              AND p.campaign_id = %(campaign)s),
    EXISTS (SELECT 1 FROM annotation_pair p
            WHERE p.campaign_id = %(campaign)s AND p.is_gold = %(false)s AND p.claimed_count < p.required_annotations
              AND NOT EXISTS (SELECT 1 FROM annotation_assignment a WHERE a.pair_id = p.id AND a.user_id = %(user)s))
"""


def progress(enrolment: Enrolment, crowd: CrowdSettings) -> Progress:
    """How far a marketplace worker is: their quota reached, or nothing left for them to label."""
    ((done, holds, open_pairs),) = fetch_prepared(_PROGRESS_SQL, {
        "user": enrolment.user_id, "campaign": enrolment.campaign_id, "active": AssignmentState.ACTIVE,
        "now": timezone.now(), "false": False})
    return Progress(done, crowd.quota, not holds and not open_pairs, not enrolment.campaign.is_active)


def prolific_complete_url(code: str) -> str:
    return f"{PROLIFIC_COMPLETE}?{urlencode({'cc': code})}"
