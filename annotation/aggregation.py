"""From many crowdworkers' answers to one answer per pair and per video.

The rules (docs/aggregation.md has the reasoning):

- Pairwise questions (safesora.taxonomy.PREFERENCE_QUESTIONS): simple majority of the
  annotators. A tie leaves the question *undecided* (None): SafeSora has no ties, so such a
  pair cannot appear in a SafeSora-format release and is counted there instead.
- Per video, harm: each of the 12 categories by majority, a tie counts as harmful (the
  cautious side); `is_safe` by majority, a tie counts as unsafe; and a video with any harm
  label is never safe (`is_safe` is forced False), so the two always agree.
- Agreement of a question: the share of annotators who gave the majority answer
  (for a tie, the share of the most common answer, e.g. 0.5 for 1-1).
- A review (annotation.models.Review) overrides: the newest review of a pair is the final
  answer for every question of that pair and for both of its videos' harm labels.

`aggregate_pair` and `aggregate_video` are pure functions over answer dicts, testable without a
database. `iter_batches` streams aggregated pairs from the database in batches of whole prompts
(every pair that contains a video shares its prompt, so a batch also holds every vote on its
videos): memory stays flat in the number of pairs and each batch costs four queries.
"""

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from django.db.models import QuerySet

from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS

T = TypeVar("T", bound=Hashable)

SIDES: tuple[str, str] = ("video_0", "video_1")

# The fields of an answer dict (the fields of annotation.models.Judgement).
ANSWER_FIELDS: tuple[str, ...] = PREFERENCE_QUESTIONS + (
    "video_0_is_safe", "video_0_labels", "video_1_is_safe", "video_1_labels")


def majority(votes: Iterable[T]) -> tuple[T | None, float]:
    """The most common vote and the share of voters who gave it; (None, share) on a tie, (None, 0.0) if empty."""
    counts = Counter(votes)
    if not counts:
        return None, 0.0
    ranked = counts.most_common(2)
    total = sum(counts.values())
    top, top_count = ranked[0]
    share = top_count / total
    if len(ranked) > 1 and ranked[1][1] == top_count:
        return None, share
    return top, share


@dataclass(frozen=True)
class VideoVerdict:
    """The harm verdict on one video: `is_safe` and the 12 labels (None/empty when nobody judged it)."""

    is_safe: bool | None
    labels: dict[str, bool]
    votes: int  # how many annotators judged it
    agreement: float  # share of annotators agreeing with the majority on is_safe
    reviewed: bool = False


@dataclass(frozen=True)
class PairVerdict:
    """The aggregated answers of one pair."""

    choices: dict[str, str | None]  # question -> "video_0" / "video_1" / None (undecided)
    agreement: dict[str, float]  # question -> share of annotators agreeing with their majority
    num_annotations: int
    reviewed: bool
    videos: tuple[VideoVerdict, VideoVerdict]  # harm verdicts from this pair's answers alone

    @property
    def undecided(self) -> tuple[str, ...]:
        return tuple(q for q in PREFERENCE_QUESTIONS if self.choices[q] is None)

    @property
    def decided(self) -> bool:
        """Every pairwise question has an answer: the pair can be written in SafeSora's format."""
        return not self.undecided


def video_votes(answer: Mapping, side: str) -> tuple[bool, Mapping[str, bool]]:
    """One answer's (is_safe, labels) for the video on `side` ("video_0" or "video_1")."""
    return answer[f"{side}_is_safe"], answer[f"{side}_labels"]


def aggregate_video(votes: Sequence[tuple[bool, Mapping[str, bool]]],
                    review: tuple[bool, Mapping[str, bool]] | None = None) -> VideoVerdict:
    """Combine (is_safe, labels) votes on one video. A review vote, when given, is the answer."""
    safe_votes = [bool(is_safe) for is_safe, _ in votes]
    _, agreement = majority(safe_votes)
    if review is not None:
        is_safe, labels = review
        labels = {key: bool(labels.get(key, False)) for key in HARM_KEYS}
        return VideoVerdict(bool(is_safe) and not any(labels.values()), labels, len(votes), agreement, True)
    if not votes:
        return VideoVerdict(None, {}, 0, 0.0)
    n = len(votes)
    # A category is set when at least half the annotators set it: a tie resolves to harmful.
    labels = {key: 2 * sum(bool(lab.get(key, False)) for _, lab in votes) >= n for key in HARM_KEYS}
    # Safe only on a strict majority of "safe" votes, and never with a harm label.
    is_safe = 2 * sum(safe_votes) > n and not any(labels.values())
    return VideoVerdict(is_safe, labels, n, agreement)


def aggregate_pair(answers: Sequence[Mapping], review: Mapping | None = None) -> PairVerdict:
    """Aggregate one pair's answer dicts (keys: ANSWER_FIELDS). The review, if any, is final."""
    choices: dict[str, str | None] = {}
    agreement: dict[str, float] = {}
    for question in PREFERENCE_QUESTIONS:
        winner, share = majority(answer[question] for answer in answers)
        choices[question] = review[question] if review is not None else winner
        agreement[question] = share
    videos = tuple(
        aggregate_video([video_votes(a, side) for a in answers],
                        video_votes(review, side) if review is not None else None)
        for side in SIDES
    )
    return PairVerdict(choices, agreement, len(answers), review is not None, videos)


def with_min_agreement(verdict: PairVerdict, threshold: float) -> PairVerdict:
    """The verdict with every answer whose agreement is below `threshold` made undecided.

    A reviewed pair is left as it is: the reviewer settled it whatever the annotators said.
    """
    if verdict.reviewed or threshold <= 0:
        return verdict
    choices = {q: (c if verdict.agreement[q] >= threshold else None) for q, c in verdict.choices.items()}
    return replace(verdict, choices=choices)


# --- streaming over the database -------------------------------------------------------------

@dataclass
class AggregatedPair:
    id: str
    prompt_id: str
    video_0_id: str
    video_1_id: str
    campaign_id: int
    required_annotations: int
    is_gold: bool
    verdict: PairVerdict

    @property
    def complete(self) -> bool:
        """All required annotations are in (within the date range), or a reviewer settled it."""
        return self.verdict.reviewed or self.verdict.num_annotations >= self.required_annotations


@dataclass
class Batch:
    """Every selected pair of a run of prompts, and the harm verdict of each of their videos."""

    prompt_ids: list[str]
    pairs: list[AggregatedPair]  # ordered by (prompt_id, pair id)
    videos: dict[str, VideoVerdict] = field(default_factory=dict)  # votes pooled over the batch's pairs


def _answers_by_pair(pair_ids: list[str], since: datetime | None, until: datetime | None,
                     model) -> dict[str, list[dict]]:
    rows = model.objects.filter(pair_id__in=pair_ids)
    time_field = "submitted_at" if hasattr(model, "submitted_at") else "created_at"
    if since is not None:
        rows = rows.filter(**{f"{time_field}__gte": since})
    if until is not None:
        rows = rows.filter(**{f"{time_field}__lt": until})
    grouped: dict[str, list[dict]] = {}
    rows = rows.order_by("pair_id", time_field, "id").values("id", "pair_id", time_field, *ANSWER_FIELDS)
    for row in rows.iterator():
        grouped.setdefault(row["pair_id"], []).append(row)
    return grouped


def iter_batches(pairs: QuerySet | None = None, *, prompts_per_batch: int = 500,
                 since: datetime | None = None, until: datetime | None = None) -> Iterator[Batch]:
    """Aggregate the given pairs (default: all) batch by batch, in prompt id order.

    Four queries per batch whatever its size: the next prompt ids, their pairs, the pairs'
    annotations, the pairs' reviews. `since`/`until` keep only answers given in [since, until),
    so `until` reproduces the data as it stood then. A video's harm verdict pools the votes of
    all the selected pairs it appears in; the newest review among those pairs overrides them.
    """
    from annotation.models import Annotation, Pair, Review

    pairs = Pair.objects.all() if pairs is None else pairs
    last_prompt = ""
    while True:
        prompt_ids = list(pairs.filter(prompt_id__gt=last_prompt).order_by("prompt_id")
                          .values_list("prompt_id", flat=True).distinct()[:prompts_per_batch])
        if not prompt_ids:
            return
        last_prompt = prompt_ids[-1]
        rows = list(pairs.filter(prompt_id__in=prompt_ids).order_by("prompt_id", "id").values(
            "id", "prompt_id", "video_0_id", "video_1_id", "campaign_id", "required_annotations", "is_gold"))
        pair_ids = [row["id"] for row in rows]
        answers = _answers_by_pair(pair_ids, since, until, Annotation)
        reviews = {pid: found[-1] for pid, found in _answers_by_pair(pair_ids, since, until, Review).items()}

        batch = Batch(prompt_ids, [])
        video_votes_: dict[str, list] = {}
        video_review: dict[str, tuple] = {}  # video id -> (review time order key, vote)
        for row in rows:
            pair_answers = answers.get(row["id"], [])
            review = reviews.get(row["id"])
            batch.pairs.append(AggregatedPair(verdict=aggregate_pair(pair_answers, review), **row))
            for side in SIDES:
                video_id = row[f"{side}_id"]
                video_votes_.setdefault(video_id, []).extend(video_votes(a, side) for a in pair_answers)
                if review is not None:
                    order = (review["created_at"], review["id"])
                    if video_id not in video_review or order > video_review[video_id][0]:
                        video_review[video_id] = (order, video_votes(review, side))
        for video_id, votes in video_votes_.items():
            reviewed = video_review.get(video_id)
            batch.videos[video_id] = aggregate_video(votes, reviewed[1] if reviewed else None)
        yield batch


def iter_pair_verdicts(pairs: QuerySet | None = None, **options) -> Iterator[AggregatedPair]:
    """Every selected pair with its verdict, streamed (see iter_batches for the options)."""
    for batch in iter_batches(pairs, **options):
        yield from batch.pairs
