"""What each worker did in a date range, for paying them: pairs submitted, skips, active time,
gold accuracy, agreement with the majority, and their marketplace ids.

Active time is the sum of `Annotation.time_spent_ms`, the time the labelling page measured
between showing a pair and its submission (idle time past the break reminder included).
Agreement with the majority comes from annotation.quality.majority_agreement, the dashboard's
measure, over the same annotations.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.utils import timezone

from annotation.models import Annotation, Assignment, AssignmentState, Campaign
from annotation.quality import majority_agreement

from .models import Enrolment, MarketplaceAccount


@dataclass
class WorkerPay:
    user_id: int
    username: str
    marketplace: str = ""
    worker_id: str = ""
    study_ids: list[str] = field(default_factory=list)
    session_ids: list[str] = field(default_factory=list)
    submitted: int = 0
    skipped: int = 0
    active_ms: int = 0
    gold_answers: int = 0
    gold_correct: int = 0
    agreed: int = 0
    compared: int = 0

    @property
    def active_hours(self) -> float:
        return self.active_ms / 3_600_000

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None

    @property
    def majority_agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """[local midnight of `first`, local midnight after `last`)."""
    zone = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(first, time.min), zone),
            timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), zone))


def payment_report(first: date, last: date, campaign: Campaign | None = None) -> list[WorkerPay]:
    """One row per person who submitted or skipped a pair between `first` and `last` (local days)."""
    start, end = day_bounds(first, last)
    annotations = Annotation.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
    skips = Assignment.objects.filter(state=AssignmentState.SKIPPED, finished_at__gte=start, finished_at__lt=end)
    if campaign is not None:
        annotations = annotations.filter(pair__campaign=campaign)
        skips = skips.filter(pair__campaign=campaign)
    rows: dict[int, WorkerPay] = {}

    def row(user_id: int) -> WorkerPay:
        return rows.setdefault(user_id, WorkerPay(user_id, ""))

    for r in annotations.order_by().values("user_id").annotate(
            n=Count("id"), ms=Sum("time_spent_ms"), gold=Count("id", filter=Q(gold_correct__isnull=False)),
            correct=Count("id", filter=Q(gold_correct=True))):
        w = row(r["user_id"])
        w.submitted, w.active_ms, w.gold_answers, w.gold_correct = r["n"], r["ms"] or 0, r["gold"], r["correct"]
    for user_id, n in skips.order_by().values("user_id").annotate(n=Count("id")).values_list("user_id", "n"):
        row(user_id).skipped = n
    for user_id, (agreed, compared) in majority_agreement(annotations).items():
        row(user_id).agreed, row(user_id).compared = agreed, compared
    for pk, username in get_user_model().objects.filter(pk__in=rows).values_list("pk", "username"):
        rows[pk].username = username
    for account in MarketplaceAccount.objects.filter(user_id__in=rows):
        rows[account.user_id].marketplace, rows[account.user_id].worker_id = account.marketplace, account.worker_id
    enrolments = Enrolment.objects.filter(user_id__in=rows).exclude(study_id="")
    if campaign is not None:
        enrolments = enrolments.filter(campaign=campaign)
    for e in enrolments.order_by("id"):
        rows[e.user_id].study_ids.append(e.study_id)
        if e.session_id:
            rows[e.user_id].session_ids.append(e.session_id)
    return sorted(rows.values(), key=lambda w: w.username)


CSV_COLUMNS = ("username", "marketplace", "worker_id", "study_ids", "session_ids", "pairs_submitted",
               "pairs_skipped", "active_seconds", "gold_answers", "gold_correct", "gold_accuracy",
               "majority_agreement")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def report_csv(rows: list[WorkerPay]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for w in rows:
        writer.writerow([spreadsheet_safe(w.username), w.marketplace, spreadsheet_safe(w.worker_id),
                         spreadsheet_safe(";".join(w.study_ids)), spreadsheet_safe(";".join(w.session_ids)),
                         w.submitted, w.skipped, round(w.active_ms / 1000, 1), w.gold_answers, w.gold_correct,
                         "" if w.gold_accuracy is None else round(w.gold_accuracy, 4),
                         "" if w.majority_agreement is None else round(w.majority_agreement, 4)])
    return out.getvalue()
