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

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import reduce
from operator import or_
from typing import TypeVar

from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, IntegerField, Q, QuerySet, Value
from django.db.models.expressions import RawSQL

from safesora.db import among
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS

T = TypeVar("T", bound=Hashable)

SIDES: tuple[str, str] = ("video_0", "video_1")

# The fields of an answer dict (the fields of annotation.models.Judgement).
ANSWER_FIELDS: tuple[str, ...] = PREFERENCE_QUESTIONS + (
    "video_0_is_safe", "video_0_labels", "video_1_is_safe", "video_1_labels")

# Harm labels travel inside aggregation as 12-bit masks (bit i = HARM_KEYS[i]): counting votes on
# ints is much cheaper than on dicts, and the database can compute the mask (see label_mask_sql).
HARM_BITS: dict[str, int] = {key: 1 << i for i, key in enumerate(HARM_KEYS)}

Labels = Mapping[str, bool] | int  # a HarmLabel dict or its mask


def label_mask(labels: Labels) -> int:
    """The mask of a HarmLabel dict (an int is taken as a mask already)."""
    if isinstance(labels, int):
        return labels
    return sum(bit for key, bit in HARM_BITS.items() if labels.get(key))


def mask_labels(mask: int) -> dict[str, bool]:
    """The HarmLabel dict of a mask, in taxonomy order."""
    return {key: bool(mask & bit) for key, bit in HARM_BITS.items()}


def majority(votes: Iterable[T]) -> tuple[T | None, float]:
    """The most common vote and the share of voters who gave it; (None, share) on a tie, (None, 0.0) if empty."""
    counts: dict[T, int] = {}
    for vote in votes:
        counts[vote] = counts.get(vote, 0) + 1
    if not counts:
        return None, 0.0
    top = max(counts.values())
    winners = [vote for vote, count in counts.items() if count == top]
    return (winners[0] if len(winners) == 1 else None), top / sum(counts.values())


@dataclass(frozen=True)
class VideoVerdict:
    """The harm verdict on one video: `is_safe` and the 12 labels (None / all False when nobody judged it)."""

    is_safe: bool | None
    label_mask: int
    votes: int  # how many annotators judged it
    agreement: float  # share of annotators agreeing with the majority on is_safe
    reviewed: bool = False

    @property
    def labels(self) -> dict[str, bool]:
        return mask_labels(self.label_mask)


@dataclass(frozen=True)
class PairVerdict:
    """The aggregated answers of one pair."""

    choices: dict[str, str | None]  # question -> "video_0" / "video_1" / None (undecided)
    agreement: dict[str, float]  # question -> share of annotators agreeing with their majority
    num_annotations: int
    reviewed: bool

    @property
    def undecided(self) -> tuple[str, ...]:
        return tuple(q for q in PREFERENCE_QUESTIONS if self.choices[q] is None)

    @property
    def decided(self) -> bool:
        """Every pairwise question has an answer: the pair can be written in SafeSora's format."""
        return not self.undecided


def video_votes(answer: Mapping, side: str) -> tuple[bool, Labels]:
    """One answer's (is_safe, labels) for the video on `side` ("video_0" or "video_1")."""
    return answer[f"{side}_is_safe"], answer[f"{side}_labels"]


def aggregate_video(votes: Sequence[tuple[bool, Labels]], review: tuple[bool, Labels] | None = None) -> VideoVerdict:
    """Combine (is_safe, labels) votes on one video. A review vote, when given, is the answer."""
    n = len(votes)
    safe = [bool(is_safe) for is_safe, _ in votes].count(True)
    agreement = max(safe, n - safe) / n if n else 0.0
    if review is not None:
        mask = label_mask(review[1])
        return VideoVerdict(bool(review[0]) and not mask, mask, n, agreement, True)
    if not n:
        return VideoVerdict(None, 0, 0, 0.0)
    masks = [label_mask(labels) for _, labels in votes]
    mask, seen = 0, reduce(or_, masks)
    if not seen:  # the common case: nobody set any label
        return VideoVerdict(2 * safe > n, 0, n, agreement)
    # A category is set when at least half the annotators set it: a tie resolves to harmful.
    for bit in HARM_BITS.values():
        if bit & seen and 2 * sum(1 for m in masks if m & bit) >= n:
            mask |= bit
    # Safe only on a strict majority of "safe" votes, and never with a harm label.
    return VideoVerdict(2 * safe > n and not mask, mask, n, agreement)


def aggregate_pair(answers: Sequence[Mapping], review: Mapping | None = None) -> PairVerdict:
    """Aggregate one pair's answer dicts (keys: ANSWER_FIELDS). The review, if any, is final.

    Every pairwise answer is "video_0" or "video_1" (the database enforces it), so counting one
    side gives the majority.
    """
    n = len(answers)
    choices: dict[str, str | None] = {}
    agreement: dict[str, float] = {}
    for question in PREFERENCE_QUESTIONS:
        first = [answer[question] for answer in answers].count("video_0")
        agreement[question] = max(first, n - first) / n if n else 0.0
        if review is not None:
            choices[question] = review[question]
        else:
            choices[question] = "video_0" if 2 * first > n else "video_1" if 2 * first < n else None
    return PairVerdict(choices, agreement, n, review is not None)


def pair_video_verdicts(answers: Sequence[Mapping], review: Mapping | None = None) -> tuple[VideoVerdict, ...]:
    """The harm verdicts of a pair's two videos from that pair's answers alone (exports pool over pairs)."""
    return tuple(aggregate_video([video_votes(a, side) for a in answers],
                                 video_votes(review, side) if review is not None else None) for side in SIDES)


# A threshold is read to two decimals, as people write shares: 0.67 means "at least 2 of 3"
# although 2/3 is stored as 0.6667. Half of the last written digit is the tolerance.
AGREEMENT_TOLERANCE = 0.005


def parse_share(text: str) -> float:
    """A share in [0, 1] written as a decimal (`0.67`), a fraction (`2/3`) or a percentage (`67%`)."""
    value = str(text).strip()
    try:
        if value.endswith("%"):
            share = float(value[:-1]) / 100
        elif "/" in value:
            top, bottom = value.split("/", 1)
            share = int(top) / int(bottom)
        else:
            share = float(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a share: {text!r} (write 0.67, 2/3 or 67%)") from None
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a share must be between 0 and 1, got {text!r}")
    return share


def agreement_passes(agreement: float, threshold: float) -> bool:
    """Whether an answer with this agreement meets a minimum-agreement threshold (to two decimals)."""
    return threshold <= 0 or agreement >= threshold - AGREEMENT_TOLERANCE


def with_min_agreement(verdict: PairVerdict, threshold: float) -> PairVerdict:
    """The verdict with every answer whose agreement is below `threshold` made undecided.

    A reviewed pair is left as it is: the reviewer settled it whatever the annotators said.
    """
    if verdict.reviewed or threshold <= 0:
        return verdict
    choices = {q: (c if agreement_passes(verdict.agreement[q], threshold) else None)
               for q, c in verdict.choices.items()}
    return replace(verdict, choices=choices)


# --- streaming over the database -------------------------------------------------------------

def label_mask_sql(model, field_name: str) -> RawSQL:
    """An expression the database evaluates to the label mask of a HarmLabel JSON field.

    Written as SQL rather than as ORM Case/When: Django spends longer compiling 12 Case
    expressions than PostgreSQL spends running them.
    """
    column = f"{connection.ops.quote_name(model._meta.db_table)}.{connection.ops.quote_name(field_name)}"
    if connection.vendor == "postgresql":
        test = "{column} -> '{key}' = 'true'::jsonb"
    else:  # SQLite (the embedded demo): JSON true extracts as 1
        test = "json_extract({column}, '$.{key}') = 1"
    terms = [f"CASE WHEN {test.format(column=column, key=key)} THEN {bit} ELSE 0 END" for key, bit in HARM_BITS.items()]
    return RawSQL(f"({' + '.join(terms)})", [], output_field=IntegerField())


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

    prompt_ids: list[str]  # in order; every selected pair of these prompts is in `pairs`
    after: str  # the batch covers prompt ids in (after, prompt_ids[-1]]: an index range to fetch more by
    pairs: list[AggregatedPair]  # ordered by (prompt_id, pair id)
    videos: dict[str, VideoVerdict] = field(default_factory=dict)  # votes pooled over the batch's pairs


def _answers_by_pair(pair_ids: list[str], since: datetime | None, until: datetime | None,
                     model) -> dict[str, list[dict]]:
    """Answer dicts per pair, labels as masks computed by the database; reviews also carry id and created_at."""
    time_field = "submitted_at" if hasattr(model, "submitted_at") else "created_at"
    # The date range is computed in the SELECT list, not the WHERE clause: there PostgreSQL may
    # pick the time index and scan every answer ever given once per batch.
    in_range = Q()
    if since is not None:
        in_range &= Q(**{f"{time_field}__gte": since})
    if until is not None:
        in_range &= Q(**{f"{time_field}__lt": until})
    columns = ("pair_id", *PREFERENCE_QUESTIONS, "video_0_is_safe", "video_1_is_safe")
    if time_field == "created_at":  # reviews: the newest one wins, so keep what orders them
        columns += ("id", "created_at")
    keys = columns + ("video_0_labels", "video_1_labels")
    rows = model.objects.filter(among(model, "pair", pair_ids)).annotate(
        v0_mask=label_mask_sql(model, "video_0_labels"), v1_mask=label_mask_sql(model, "video_1_labels"),
        in_range=ExpressionWrapper(in_range, output_field=BooleanField()) if in_range else Value(True))
    rows = rows.order_by("pair_id", time_field, "id").values_list(*columns, "v0_mask", "v1_mask", "in_range")
    grouped: dict[str, list[dict]] = {}
    for *row, wanted in rows:  # a batch's worth: one plain fetch beats a server-side cursor
        if wanted:
            answer = dict(zip(keys, row, strict=True))
            grouped.setdefault(answer["pair_id"], []).append(answer)
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
        # The batch's pairs as a prompt id range (an index range scan), their answers by pair id.
        after, last_prompt = last_prompt, prompt_ids[-1]
        rows = list(pairs.filter(prompt_id__gt=after, prompt_id__lte=last_prompt).order_by(
            "prompt_id", "id").values("id", "prompt_id", "video_0_id", "video_1_id", "campaign_id",
                                      "required_annotations", "is_gold"))
        pair_ids = [row["id"] for row in rows]
        answers = _answers_by_pair(pair_ids, since, until, Annotation)
        reviews = {pid: found[-1] for pid, found in _answers_by_pair(pair_ids, since, until, Review).items()}

        batch = Batch(prompt_ids, after, [])
        video_votes_: dict[str, list] = {}
        video_review: dict[str, tuple] = {}  # video id -> (review time order key, vote)
        for row in rows:
            pair_answers = answers.get(row["id"], [])
            review = reviews.get(row["id"])
            batch.pairs.append(AggregatedPair(verdict=aggregate_pair(pair_answers, review), **row))
            for side in SIDES:
                video_id, safe_key, labels_key = row[f"{side}_id"], f"{side}_is_safe", f"{side}_labels"
                video_votes_.setdefault(video_id, []).extend((a[safe_key], a[labels_key]) for a in pair_answers)
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
