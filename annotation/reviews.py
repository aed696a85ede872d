"""Reviews: a reviewer's final answer for a pair whose annotators disagree.

Append-only. Annotations are never touched; each review is a new row with who and when, and
the newest one is the pair's final answer (annotation.aggregation applies it). The queue of
pairs to review comes from annotation.quality.review_queue.
"""

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from annotation.answers import clean_answers
from annotation.models import Pair, Review
from safesora.roles import is_reviewer
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS

NOTE_MAX_LENGTH = 2000


def record_review(pair: Pair, reviewer: AbstractBaseUser, answers: Mapping[str, Any], note: str = "") -> Review:
    """Validate the answers (the same rules as an annotation: annotation.answers.clean_answers)
    and add them as the pair's newest review. Raises AnswerError or PermissionDenied."""
    if not is_reviewer(reviewer):
        raise PermissionDenied(_("Only reviewers and staff record reviews."))
    values = clean_answers(answers)
    return Review.objects.create(pair=pair, reviewer=reviewer, note=(note or "").strip()[:NOTE_MAX_LENGTH],
                                 **values)


def changed_fields(review: Review, previous: Review | None) -> list[str]:
    """The answers a review changed from the one before it (all of them for the first review)."""
    fields = [*PREFERENCE_QUESTIONS, "video_0_is_safe", "video_1_is_safe", "video_0_labels", "video_1_labels"]
    if previous is None:
        return fields
    changed = []
    for name in fields:
        new, old = getattr(review, name), getattr(previous, name)
        if name.endswith("_labels"):
            new, old = ({k for k in HARM_KEYS if d.get(k)} for d in (new, old))
        if new != old:
            changed.append(name)
    return changed
