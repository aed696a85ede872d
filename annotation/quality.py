"""How much the crowdworkers agree, and how each of them is doing.

- Agreement per question: Krippendorff's alpha for nominal data (any number of annotators per
  item) and Fleiss' kappa (over the items with the most common number of annotators, since
  kappa needs a fixed number), both from a table of vote counts per item.
- Per annotator: agreement with the majority, gold accuracy, throughput, and why the next-pair
  engine refuses them new pairs (annotation.assignment.standings: the gold rule, the daily cap).
- The review queue's score: the mean, over a pair's questions, of the share of annotators who
  gave the majority answer.

Majorities and their ties come from annotation.aggregation, the one place the rules live:
a tied pairwise question has no majority, so nobody agrees or disagrees with it, and it scores
a share of 0.5. docs/quality.md explains the measures.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Cast, Greatest, Least, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from annotation.aggregation import SIDES
from annotation.assignment import standings, todays_counts
from annotation.models import Annotation, Campaign, Pair, Review
from safesora.roles import CROWDWORKER
from safesora.taxonomy import HARM_CATEGORIES, HARM_KEYS, PREFERENCE_QUESTIONS, SUB_DIMENSIONS

# --- the statistics, on plain count tables ---------------------------------------------------


def krippendorff_alpha_nominal(counts: np.ndarray | Iterable) -> float:
    """Krippendorff's alpha for nominal data.

    `counts[u, c]` is how many annotators put item u in category c. Items with fewer than two
    answers carry no information about agreement and are left out. Returns nan when there is
    no variation at all (every answer the same category): alpha is undefined there.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError("counts must be a 2-d table: items x categories")
    answers = counts.sum(axis=1)
    counts, answers = counts[answers >= 2], answers[answers >= 2]
    if not len(counts):
        return float("nan")
    # Coincidence matrix: o[c, k] = sum over items of n_uc * (n_uk - [c == k]) / (m_u - 1).
    weighted = counts / (answers - 1)[:, None]
    coincidences = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    per_category = coincidences.sum(axis=1)
    total = per_category.sum()
    observed_disagreement = coincidences.sum() - np.trace(coincidences)
    expected_pairs = total**2 - (per_category**2).sum()
    if expected_pairs == 0:
        return float("nan")
    return float(1 - (total - 1) * observed_disagreement / expected_pairs)


def fleiss_kappa(counts: np.ndarray | Iterable) -> float:
    """Fleiss' kappa. Every item must have the same number (>= 2) of annotators.

    Returns nan when chance agreement is already perfect (one category only).
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or not len(counts):
        raise ValueError("counts must be a non-empty 2-d table: items x categories")
    raters = counts.sum(axis=1)
    if not np.all(raters == raters[0]) or raters[0] < 2:
        raise ValueError("Fleiss' kappa needs the same number (at least 2) of annotators on every item")
    n = raters[0]
    category_share = counts.sum(axis=0) / counts.sum()
    item_agreement = (counts * (counts - 1)).sum(axis=1) / (n * (n - 1))
    chance = (category_share**2).sum()
    if chance == 1:
        return float("nan")
    return float((item_agreement.mean() - chance) / (1 - chance))


def majority_share(counts: np.ndarray) -> np.ndarray:
    """Per item, the share of annotators who gave the most common answer (0.5 on a 1-1 tie)."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, counts.max(axis=1) / np.where(totals > 0, totals, 1), np.nan)


# --- vote tables from the database -----------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """Something annotators answer, as agreement is measured on it."""

    key: str
    label: str
    kind: str  # "preference" (items: pairs), "safety" or "harm" (items: videos within pairs)


QUESTIONS: tuple[Question, ...] = (
    *(Question(d.key, d.name, "preference") for d in SUB_DIMENSIONS),
    Question("helpfulness", _("Better overall"), "preference"),
    Question("harmlessness", _("Safer overall"), "preference"),
    Question("is_safe", _("Safe / unsafe"), "safety"),
    *(Question(c.key, f"{c.code} {c.name}", "harm") for c in HARM_CATEGORIES),
)


def _label_set(side: str, key: str) -> Q:
    """Annotations that set harm `key` on the video on `side`. On PostgreSQL containment (@>)
    is the fastest test of one jsonb key; SQLite (the demo) has no containment on JSON."""
    if connection.vendor == "postgresql":
        return Q(**{f"{side}_labels__contains": {key: True}})
    return Q(**{f"{side}_labels__{key}": True})


def _count_columns() -> dict[str, Count]:
    columns: dict[str, Count] = {"n": Count("id")}
    for question in PREFERENCE_QUESTIONS:
        columns[question] = Count("id", filter=Q(**{question: "video_0"}))
    for side in SIDES:
        columns[f"{side}_is_safe"] = Count("id", filter=Q(**{f"{side}_is_safe": True}))
        for key in HARM_KEYS:
            columns[f"{side}_{key}"] = Count("id", filter=_label_set(side, key))
    return columns


@dataclass
class VoteTable:
    """Vote counts per pair: one row per pair, one column per countable answer.

    Column "n" is the number of annotations; a pairwise question's column counts "video_0"
    answers; "<side>_is_safe" counts safe votes; "<side>_<harm key>" counts that label.
    """

    columns: tuple[str, ...]
    rows: np.ndarray  # pairs x columns, int

    @classmethod
    def from_annotations(cls, annotations: QuerySet | None = None) -> "VoteTable":
        """One GROUP BY query over the annotations (default: all)."""
        annotations = Annotation.objects.all() if annotations is None else annotations
        columns = _count_columns()
        names = tuple(columns)
        data = annotations.order_by().values("pair_id").annotate(**columns).values_list(*names)
        rows = np.array(list(data), dtype=np.int64).reshape(-1, len(names))
        return cls(names, rows)

    def column(self, name: str) -> np.ndarray:
        return self.rows[:, self.columns.index(name)]

    def counts(self, question: Question) -> np.ndarray:
        """Items x 2 table for a question: [first answer, second answer] per item.

        Preference: [video_0, video_1] per pair. Safety: [safe, unsafe] per video of a pair.
        Harm category: [set, not set] per video of a pair.
        """
        n = self.column("n")
        if question.kind == "preference":
            first = self.column(question.key)
            return np.stack([first, n - first], axis=1)
        name = "{side}_is_safe" if question.kind == "safety" else "{side}_" + question.key
        first = np.concatenate([self.column(name.format(side=side)) for side in SIDES])
        both_n = np.concatenate([n, n])
        return np.stack([first, both_n - first], axis=1)


@dataclass(frozen=True)
class QuestionAgreement:
    question: Question
    alpha: float  # Krippendorff's alpha, nominal; nan when undefined
    kappa: float  # Fleiss' kappa over `kappa_items` items; nan when undefined
    items: int  # items with at least two answers
    kappa_items: int
    kappa_raters: int
    mean_majority_share: float


def agreement_by_question(table: VoteTable) -> list[QuestionAgreement]:
    """Agreement on every question (QUESTIONS), over items with at least two answers."""
    results = []
    for question in QUESTIONS:
        counts = table.counts(question)
        counts = counts[counts.sum(axis=1) >= 2]
        kappa, kappa_items, raters = float("nan"), 0, 0
        if len(counts):
            sizes = counts.sum(axis=1)
            values, freq = np.unique(sizes, return_counts=True)
            raters = int(values[freq.argmax()])
            same = counts[sizes == raters]
            kappa, kappa_items = fleiss_kappa(same), len(same)
        share = float(np.nanmean(majority_share(counts))) if len(counts) else float("nan")
        results.append(QuestionAgreement(question, krippendorff_alpha_nominal(counts), kappa, len(counts),
                                         kappa_items, raters, share))
    return results


@dataclass(frozen=True)
class LabelDistribution:
    annotations: int
    preference: dict[str, tuple[int, int]]  # question -> (video_0 answers, video_1 answers)
    safe: int  # video judgements "safe"
    unsafe: int
    harm: dict[str, int]  # harm key -> video judgements with that label


def label_distribution(table: VoteTable) -> LabelDistribution:
    n = int(table.column("n").sum())
    preference = {}
    for question in PREFERENCE_QUESTIONS:
        left = int(table.column(question).sum())
        preference[question] = (left, n - left)
    safe = sum(int(table.column(f"{side}_is_safe").sum()) for side in SIDES)
    harm = {key: sum(int(table.column(f"{side}_{key}").sum()) for side in SIDES) for key in HARM_KEYS}
    return LabelDistribution(n, preference, safe, 2 * n - safe, harm)


# --- per annotator ----------------------------------------------------------------------------


@dataclass
class AnnotatorStats:
    user_id: int
    username: str
    annotations: int = 0
    today: int = 0  # submitted since local midnight in every campaign, as the daily cap counts
    active_days: int = 0
    median_seconds: float | None = None
    agreed: int = 0  # answers equal to the pair's majority
    compared: int = 0  # answers on questions that had a majority (pairs with 2+ annotations)
    gold_answers: int = 0
    gold_correct: int = 0
    refusals: list[str] = field(default_factory=list)  # why the engine gives them no pairs, per campaign

    @property
    def per_active_day(self) -> float:
        return self.annotations / self.active_days if self.active_days else 0.0

    @property
    def majority_agreement(self) -> float | None:
        return self.agreed / self.compared if self.compared else None

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_answers if self.gold_answers else None


# The answers compared with the majority, and the value that counts as "first" for each.
MAJORITY_COLUMNS: tuple[tuple[str, object], ...] = (
    *((q, "video_0") for q in PREFERENCE_QUESTIONS), ("video_0_is_safe", True), ("video_1_is_safe", True))


def majority_agreement(annotations: QuerySet) -> dict[int, tuple[int, int]]:
    """Per user: (answers equal to the majority, answers compared), over pairs with 2+ annotations.

    Compared are the six pairwise questions and each video's safe/unsafe vote. A question's
    majority is annotation.aggregation.majority over the pair's votes (the annotator's own vote
    included): the strictly most common answer; on a tie there is none and the question is not
    counted. Vectorized with numpy over one query (150,000 annotations take about a second), the
    same result as calling `majority` per pair (a test checks it).
    """
    rows = list(annotations.order_by().values_list("pair_id", "user_id", *(c for c, _ in MAJORITY_COLUMNS)))
    if not rows:
        return {}
    _, pair_index = np.unique(np.array([r[0] for r in rows], dtype=object), return_inverse=True)
    user_ids, user_index = np.unique(np.array([r[1] for r in rows]), return_inverse=True)
    votes = np.bincount(pair_index)
    enough = votes[pair_index] >= 2
    agreed = np.zeros(len(rows), dtype=np.int64)
    compared = np.zeros(len(rows), dtype=np.int64)
    for j, (_, first_value) in enumerate(MAJORITY_COLUMNS):
        first = np.fromiter((r[2 + j] == first_value for r in rows), dtype=bool, count=len(rows))
        first_votes = np.bincount(pair_index, weights=first, minlength=len(votes))
        side = np.sign(2 * first_votes - votes)[pair_index]  # +1: "first" wins, -1: the other, 0: tie
        counted = enough & (side != 0)
        agreed += counted & ((side > 0) == first)
        compared += counted
    per_user_agreed = np.bincount(user_index, weights=agreed, minlength=len(user_ids))
    per_user_compared = np.bincount(user_index, weights=compared, minlength=len(user_ids))
    return {int(u): (int(a), int(c)) for u, a, c in zip(user_ids, per_user_agreed, per_user_compared, strict=True)
            if c}


def annotator_stats(campaign: Campaign | None = None) -> list[AnnotatorStats]:
    """Throughput, agreement with the majority, gold accuracy and refusals of everyone who annotated
    (in `campaign`, or anywhere; refusals on `campaign`, or on every active campaign they are on)."""
    annotations = Annotation.objects.all()
    if campaign is not None:
        annotations = annotations.filter(pair__campaign=campaign)
    people = {u.pk: u for u in get_user_model().objects.filter(pk__in=annotations.values("user_id"))}
    stats = {pk: AnnotatorStats(pk, person.get_username()) for pk, person in people.items()}
    for row in annotations.order_by().values("user_id").annotate(
            total=Count("id"), gold=Count("id", filter=Q(gold_correct__isnull=False)),
            correct=Count("id", filter=Q(gold_correct=True))):
        s = stats[row["user_id"]]
        s.annotations, s.gold_answers, s.gold_correct = row["total"], row["gold"], row["correct"]
    # "Today" is the engine's count, the one its daily cap compares: every campaign, since local midnight.
    for user_id, today in todays_counts(list(stats)).items():
        stats[user_id].today = today

    # Active days (local dates) in SQL; median time with numpy over two integer columns.
    for user_id, days in annotations.order_by().values("user_id").annotate(
            days=Count(TruncDate("submitted_at"), distinct=True)).values_list("user_id", "days"):
        stats[user_id].active_days = days
    spent = np.array(list(annotations.order_by("user_id").values_list("user_id", "time_spent_ms")),
                     dtype=np.int64).reshape(-1, 2)
    if len(spent):
        user_ids, starts = np.unique(spent[:, 0], return_index=True)
        for user_id, times in zip(user_ids, np.split(spent[:, 1], starts[1:]), strict=True):
            stats[int(user_id)].median_seconds = float(np.median(times)) / 1000

    for user_id, (agreed, compared) in majority_agreement(annotations).items():
        stats[user_id].agreed, stats[user_id].compared = agreed, compared

    # Why the engine gives someone no new pairs, in its own words. It is asked (one query each)
    # only about those it could refuse: a wrong gold answer, today's count at a campaign's cap,
    # or an account that is disabled or lost the crowdworker role.
    caps = Campaign.objects.filter(daily_cap__isnull=False).values_list("daily_cap", flat=True)
    lowest_cap = min(caps, default=None)
    role_holders = set(get_user_model().objects.filter(pk__in=stats, groups__name=CROWDWORKER)
                       .values_list("pk", flat=True))
    for user in people.values():
        s = stats[user.pk]
        if not (s.gold_correct < s.gold_answers or (lowest_cap is not None and s.today >= lowest_cap)
                or not user.is_active or (user.pk not in role_holders and not user.is_staff)):
            continue
        for standing in standings(user, campaign):
            if standing.reason:
                s.refusals.append(f"{standing.campaign.name}: {standing.reason}")
    return sorted(stats.values(), key=lambda s: (-s.annotations, s.username))


# --- progress ---------------------------------------------------------------------------------


def annotations_per_day(annotations: QuerySet | None = None, days: int = 30) -> list[tuple[str, int]]:
    """(ISO date, annotations submitted that day) for the last `days` days, oldest first, zeros kept."""
    annotations = Annotation.objects.all() if annotations is None else annotations
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, time.min))
    found = dict(annotations.filter(submitted_at__gte=start).order_by()
                 .annotate(day=TruncDate("submitted_at")).values("day").annotate(n=Count("id"))
                 .values_list("day", "n"))
    return [((first + timedelta(d)).isoformat(), found.get(first + timedelta(d), 0)) for d in range(days)]


@dataclass(frozen=True)
class CampaignProgress:
    campaign: Campaign
    pairs: int
    complete: int
    started: int  # some annotations, not complete
    annotations: int

    @property
    def not_started(self) -> int:
        return self.pairs - self.complete - self.started


def campaign_progress(campaigns: QuerySet | None = None) -> list[CampaignProgress]:
    campaigns = Campaign.objects.all() if campaigns is None else campaigns
    # Gold pairs are left out: they are served to everyone and never "complete" (annotation.assignment).
    regular = Q(pairs__is_gold=False)
    rows = campaigns.annotate(
        n_pairs=Count("pairs", filter=regular),
        n_complete=Count("pairs", filter=regular & Q(pairs__annotation_count__gte=F("pairs__required_annotations"))),
        n_started=Count("pairs", filter=regular & Q(pairs__annotation_count__gt=0,
                                                    pairs__annotation_count__lt=F("pairs__required_annotations"))),
    )
    counts = dict(Annotation.objects.filter(pair__campaign__in=campaigns).order_by()
                  .values("pair__campaign_id").annotate(n=Count("id")).values_list("pair__campaign_id", "n"))
    return [CampaignProgress(c, c.n_pairs, c.n_complete, c.n_started, counts.get(c.pk, 0)) for c in rows]


# --- the review queue -------------------------------------------------------------------------


def with_agreement(pairs: QuerySet) -> QuerySet:
    """Annotate pairs with `agreement` (mean majority share over the six pairwise questions and
    each video's safe/unsafe) and `min_preference_share` (0.5 means some pairwise question is
    tied: the pair has no majority there and cannot be exported in SafeSora's format).

    Computed in SQL so the queue can sort and paginate over 100k pairs; it is the same share
    annotation.aggregation reports as `agreement` (a test checks they match).
    """
    n = Count("annotations")
    counts = {f"_v0_{q}": Count("annotations", filter=Q(**{f"annotations__{q}": "video_0"}))
              for q in PREFERENCE_QUESTIONS}
    counts.update({f"_safe_{side}": Count("annotations", filter=Q(**{f"annotations__{side}_is_safe": True}))
                   for side in SIDES})
    pairs = pairs.annotate(_n=n, **counts)
    total = Cast(F("_n"), FloatField())

    def share(name: str):
        return Greatest(F(name), F("_n") - F(name)) / total

    preference = [share(f"_v0_{q}") for q in PREFERENCE_QUESTIONS]
    safety = [share(f"_safe_{side}") for side in SIDES]
    mean = sum(preference + safety, Value(0.0)) / Value(float(len(preference) + len(safety)))
    return pairs.filter(_n__gt=0).annotate(
        agreement=ExpressionWrapper(mean, output_field=FloatField()),
        min_preference_share=ExpressionWrapper(Least(*preference), output_field=FloatField()),
    )


def review_queue(threshold: float, *, campaign: Campaign | None = None, include_reviewed: bool = False) -> QuerySet:
    """Complete pairs whose annotators disagree: a tied pairwise question, or a mean majority
    share below `threshold`. Lowest agreement first. Reviewed pairs are left out unless asked."""
    pairs = Pair.objects.filter(annotation_count__gte=F("required_annotations")).filter(annotation_count__gte=2)
    if campaign is not None:
        pairs = pairs.filter(campaign=campaign)
    # A subquery, not a join: joining reviews as well would multiply the annotation counts.
    pairs = pairs.annotate(reviewed=Exists(Review.objects.filter(pair=OuterRef("pk"))))
    if not include_reviewed:
        pairs = pairs.filter(reviewed=False)
    pairs = with_agreement(pairs).filter(Q(agreement__lt=threshold) | Q(min_preference_share__lte=0.5))
    return pairs.select_related("prompt", "campaign").order_by("agreement", "id")
