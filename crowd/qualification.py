"""The qualification set: gold pairs with explanations, labelled before real pairs are served.

A try is a pass through every item of the campaign's set, in order; each answer is graded with
the same rule as gold pairs during work (annotation.answers.grade_gold) and the worker sees
their answer against the expected one with the staff's explanation. A try passes when its
share correct reaches the campaign's pass mark; passing puts the worker on the campaign's
workers list, failing the last allowed try stops them.
"""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.answers import grade_gold
from annotation.judgement_form import PAIRWISE, SIDE_NAMES
from safesora.taxonomy import HARM_BY_KEY

from .enrolment import crowd_settings, do_admit
from .models import (
    Enrolment,
    EnrolmentState,
    QualificationAnswer,
    QualificationAttempt,
    QualificationItem,
)


class QualificationError(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def items(campaign) -> list[QualificationItem]:
    return list(QualificationItem.objects.filter(campaign=campaign).select_related(
        "pair__prompt", "pair__video_0", "pair__video_1", "pair__campaign"))


def latest_attempt(enrolment: Enrolment) -> QualificationAttempt | None:
    return (QualificationAttempt.objects.filter(campaign=enrolment.campaign, user=enrolment.user)
            .order_by("-number").first())


def tries_left(enrolment: Enrolment) -> int:
    used = QualificationAttempt.objects.filter(campaign=enrolment.campaign, user=enrolment.user).count()
    return max(crowd_settings(enrolment.campaign).max_tries - used, 0)


def do_start_attempt(enrolment: Enrolment) -> QualificationAttempt:
    """A new try, if the worker has one left and has no try open."""
    if enrolment.state != EnrolmentState.QUALIFYING:
        raise QualificationError(_("You are not taking this qualification."))
    current = latest_attempt(enrolment)
    if current is not None and current.finished_at is None:
        return current
    if not tries_left(enrolment):
        raise QualificationError(_("You have no tries left."))
    return QualificationAttempt.objects.create(campaign=enrolment.campaign, user=enrolment.user,
                                               number=(current.number + 1) if current else 1)


def next_item(attempt: QualificationAttempt) -> QualificationItem | None:
    answered = set(attempt.answers.values_list("item_id", flat=True))
    return next((item for item in items(attempt.campaign) if item.pk not in answered), None)


@transaction.atomic
def do_answer(enrolment: Enrolment, attempt: QualificationAttempt, item: QualificationItem,
              values: dict[str, Any]) -> QualificationAnswer:
    """Record cleaned answers for one item and grade them; the last item finishes the try."""
    attempt = QualificationAttempt.objects.select_for_update().get(pk=attempt.pk)
    if attempt.finished_at is not None or attempt.answers.filter(item=item).exists():
        raise QualificationError(_("This pair was already answered in this try."))
    answer = QualificationAnswer.objects.create(attempt=attempt, item=item, answers=values,
                                                correct=grade_gold(values, item.pair.gold_answers))
    if next_item(attempt) is None:
        _finish(enrolment, attempt)
    return answer


def _finish(enrolment: Enrolment, attempt: QualificationAttempt) -> None:
    answers = list(attempt.answers.values_list("correct", flat=True))
    attempt.total, attempt.correct = len(answers), sum(answers)
    attempt.passed = attempt.total > 0 and attempt.correct / attempt.total >= crowd_settings(attempt.campaign).pass_mark
    attempt.finished_at = timezone.now()
    attempt.save(update_fields=["total", "correct", "passed", "finished_at"])
    if attempt.passed:
        do_admit(enrolment)
    elif not tries_left(enrolment):
        enrolment.state = EnrolmentState.FAILED
        enrolment.save(update_fields=["state"])


# --- feedback ---------------------------------------------------------------------------------------


@dataclass
class FeedbackRow:
    question: str
    expected: str
    given: str
    matches: bool


def _side(value: Any) -> str:
    return str(SIDE_NAMES.get(value, value))


def _safety(value: Any) -> str:
    return _("safe") if value else _("unsafe")


def _labels(value: dict | None, keys) -> str:
    chosen = [str(HARM_BY_KEY[k].name) for k in keys if k in HARM_BY_KEY and (value or {}).get(k)]
    return ", ".join(chosen) or _("none of these")


def feedback(answer: QualificationAnswer) -> list[FeedbackRow]:
    """The worker's answer against the expected one, for each thing the gold pair knows."""
    titles = {q.key: str(q.title) for q in PAIRWISE}
    rows = []
    for key, expected in answer.item.pair.gold_answers.items():
        given = answer.answers.get(key)
        one = {key: expected}
        matches = grade_gold(answer.answers, one)  # the same rule as the whole grade, per entry
        if key in titles:
            rows.append(FeedbackRow(titles[key], _side(expected), _side(given), matches))
        elif key.endswith("_is_safe"):
            side = key.removesuffix("_is_safe")
            rows.append(FeedbackRow(_("%(video)s: safe or unsafe") % {"video": SIDE_NAMES[side]},
                                    _safety(expected), _safety(given), matches))
        elif key.endswith("_labels"):
            side = key.removesuffix("_labels")
            keys = [k for k in expected if k in HARM_BY_KEY]
            rows.append(FeedbackRow(_("%(video)s: harm categories (%(keys)s)") % {
                "video": SIDE_NAMES[side], "keys": ", ".join(str(HARM_BY_KEY[k].name) for k in keys)},
                _labels(expected, keys), _labels(given, keys), matches))
    return rows
