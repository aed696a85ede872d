"""Agreement statistics, per-annotator quality and the review queue score, against hand-computed values."""

import math

import numpy as np
import pytest

from annotation.aggregation import aggregate_pair, majority, pair_video_verdicts
from annotation.models import Annotation
from annotation.quality import (
    QUESTIONS,
    VoteTable,
    agreement_by_question,
    annotator_stats,
    fleiss_kappa,
    krippendorff_alpha_nominal,
    label_distribution,
    majority_agreement,
    review_queue,
    with_agreement,
)
from safesora.taxonomy import PREFERENCE_QUESTIONS
from tests.factories import make_annotation, make_campaign, make_pair, make_review, make_user


def test_fleiss_kappa_textbook_example():
    # Fleiss (1971) as tabulated on Wikipedia: 10 items, 14 raters, 5 categories: kappa = 0.210.
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    assert fleiss_kappa(table) == pytest.approx(0.2099, abs=1e-4)


def test_krippendorff_alpha_textbook_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders, 12 units,
    # missing values; nominal alpha = 0.743. Unit 12 has a single value and must be ignored.
    coders = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    counts = np.zeros((12, 5))
    for values in coders:
        for unit, value in enumerate(values):
            if value is not None:
                counts[unit, value - 1] += 1
    assert krippendorff_alpha_nominal(counts) == pytest.approx(0.743, abs=5e-4)


def test_statistics_on_a_hand_computed_binary_table():
    # 3-0, 2-1, 1-2, 0-3. Coincidences o00=4, o01=o10=2, o11=4, n=12:
    # alpha = 1 - 11 * 4 / (2 * 6 * 6) = 7/18; kappa: P-bar = 2/3, Pe = 1/2, kappa = 1/3.
    table = [[3, 0], [2, 1], [1, 2], [0, 3]]
    assert krippendorff_alpha_nominal(table) == pytest.approx(7 / 18)
    assert fleiss_kappa(table) == pytest.approx(1 / 3)
    assert krippendorff_alpha_nominal([[3, 0], [3, 0]]) != krippendorff_alpha_nominal([[3, 0], [3, 0]])  # nan
    assert krippendorff_alpha_nominal([[2, 0], [0, 2]]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        fleiss_kappa([[3, 0], [1, 1]])


@pytest.mark.django_db
def test_agreement_per_question_from_annotations():
    campaign = make_campaign(overlap=3)
    users = [make_user() for _ in range(3)]
    splits = [("video_0",) * 3, ("video_0", "video_0", "video_1"), ("video_0", "video_1", "video_1"),
              ("video_1",) * 3]
    for votes in splits:
        pair = make_pair(campaign)
        for user, vote in zip(users, votes, strict=True):
            make_annotation(pair, user, helpfulness=vote, labels_1=["violence"] if vote == "video_1" else ())

    table = VoteTable.from_annotations()
    results = {r.question.key: r for r in agreement_by_question(table)}
    assert results["helpfulness"].alpha == pytest.approx(7 / 18)
    assert results["helpfulness"].kappa == pytest.approx(1 / 3)
    assert results["helpfulness"].items == 4 and results["helpfulness"].kappa_raters == 3
    assert math.isnan(results["correctness"].alpha)  # everyone answered video_0: no variation
    # violence on video_1 was set exactly with the video_1 votes: the same table, plus 4 video_0
    # items where nobody set it. Items: 8 (4 pairs x 2 videos).
    assert results["violence"].items == 8
    assert results["violence"].alpha == pytest.approx(krippendorff_alpha_nominal(
        [[0, 3], [0, 3], [0, 3], [0, 3], [0, 3], [1, 2], [2, 1], [3, 0]]))
    assert len(results) == len(QUESTIONS) == 6 + 1 + 12

    dist = label_distribution(table)
    assert dist.annotations == 12
    assert dist.preference["helpfulness"] == (6, 6)
    assert dist.preference["aesthetics"] == (12, 0)
    assert dist.harm["violence"] == 6 and dist.harm["porn"] == 0
    assert (dist.safe, dist.unsafe) == (18, 6)


@pytest.mark.django_db
def test_per_annotator_majority_agreement_gold_accuracy_and_blocking():
    campaign = make_campaign(overlap=3, gold_min_answers=2, gold_min_accuracy=0.7)
    u1, u2, u3 = make_user("u1"), make_user("u2"), make_user("u3")
    campaign.workers.add(u1, u2, u3)
    unanimous = make_pair(campaign)
    for user in (u1, u2, u3):
        make_annotation(unanimous, user, time_spent_ms=10_000)
    # u3 is the odd one out on helpfulness and calls the left video unsafe (violence).
    split = make_pair(campaign)
    make_annotation(split, u1, time_spent_ms=20_000)
    make_annotation(split, u2, time_spent_ms=20_000)
    make_annotation(split, u3, helpfulness="video_1", labels_0=["violence"], time_spent_ms=30_000)
    # Two annotators tied on helpfulness: that question has no majority and is not counted.
    tied = make_pair(campaign, required_annotations=2)
    make_annotation(tied, u1, helpfulness="video_0", gold_correct=True)
    make_annotation(tied, u2, helpfulness="video_1")
    # Gold: u3 has 2 gold answers, 1 right: 50% < 70% after the 2 required: blocked.
    for correct in (True, False):
        make_annotation(make_pair(campaign, required_annotations=1), u3, gold_correct=correct)

    stats = {s.username: s for s in annotator_stats()}
    # u1: 8 of 8 on two pairs (6 questions + 2 safe/unsafe), 7 of 7 on the tied pair.
    assert (stats["u1"].agreed, stats["u1"].compared) == (23, 23)
    assert (stats["u2"].agreed, stats["u2"].compared) == (23, 23)
    # u3: 8 of 8, then 6 of 8 (helpfulness and the left video's safety against the majority).
    assert (stats["u3"].agreed, stats["u3"].compared) == (14, 16)
    assert stats["u3"].majority_agreement == pytest.approx(14 / 16)
    assert stats["u3"].annotations == 4 and stats["u3"].today == 4 and stats["u3"].active_days == 1
    assert stats["u2"].median_seconds == pytest.approx(10.0)  # 10 s, 20 s and 0 s
    assert (stats["u3"].gold_answers, stats["u3"].gold_correct, stats["u3"].gold_accuracy) == (2, 1, 0.5)
    assert stats["u1"].gold_accuracy == 1.0 and stats["u2"].gold_accuracy is None
    # The engine's refusal, in its words: u3 gets no more pairs, and the admin sees why.
    assert stats["u1"].refusals == [] and stats["u2"].refusals == []
    assert len(stats["u3"].refusals) == 1
    assert "50%" in stats["u3"].refusals[0] and "70%" in stats["u3"].refusals[0]
    assert stats["u3"].refusals[0].startswith(campaign.name)

    other = make_campaign()
    make_annotation(make_pair(other, required_annotations=1), make_user("elsewhere"))
    assert {s.username for s in annotator_stats(campaign)} == {"u1", "u2", "u3"}


@pytest.mark.django_db
def test_vectorized_majority_agreement_equals_aggregation_majority_pair_by_pair():
    rng = np.random.default_rng(7)
    campaign = make_campaign(overlap=4)
    users = [make_user() for _ in range(5)]
    for _ in range(12):
        pair = make_pair(campaign, required_annotations=4)
        for user in rng.choice(users, size=int(rng.integers(1, 5)), replace=False):
            make_annotation(pair, user, **{q: f"video_{rng.integers(0, 2)}" for q in PREFERENCE_QUESTIONS},
                            safe_0=bool(rng.integers(0, 2)), safe_1=bool(rng.integers(0, 2)))

    expected: dict[int, list[int]] = {}
    columns = [*PREFERENCE_QUESTIONS, "video_0_is_safe", "video_1_is_safe"]
    for pair in campaign.pairs.all():
        answers = list(Annotation.objects.filter(pair=pair).values("user_id", *columns))
        if len(answers) < 2:
            continue
        for column in columns:
            winner, _ = majority(a[column] for a in answers)
            if winner is None:
                continue
            for a in answers:
                tally = expected.setdefault(a["user_id"], [0, 0])
                tally[0] += a[column] == winner
                tally[1] += 1
    assert majority_agreement(Annotation.objects.all()) == {u: tuple(t) for u, t in expected.items()}


@pytest.mark.django_db
def test_review_queue_score_matches_aggregation_and_orders_by_agreement():
    campaign = make_campaign(overlap=3)
    users = [make_user() for _ in range(3)]
    unanimous, mild, strong = make_pair(campaign), make_pair(campaign), make_pair(campaign)
    for user in users:
        make_annotation(unanimous, user)
    make_annotation(mild, users[0])
    make_annotation(mild, users[1])
    make_annotation(mild, users[2], helpfulness="video_1")
    make_annotation(strong, users[0])
    make_annotation(strong, users[1], safe_0=False, labels_0=["crime"])
    make_annotation(strong, users[2], helpfulness="video_1", harmlessness="video_1", aesthetics="video_1",
                    correctness="video_1", instruction_following="video_1", safe_1=False)
    incomplete = make_pair(campaign)
    make_annotation(incomplete, users[0])
    make_annotation(incomplete, users[1], helpfulness="video_1")

    # The SQL score equals aggregation's agreement, averaged over the 6 questions and 2 videos.
    scored = {p.pk: p.agreement for p in with_agreement(campaign.pairs.all())}
    for pair in (unanimous, mild, strong, incomplete):
        answers = list(Annotation.objects.filter(pair=pair).values())
        verdict = aggregate_pair(answers)
        expected = (sum(verdict.agreement.values()) + sum(v.agreement for v in pair_video_verdicts(answers))) / 8
        assert scored[pair.pk] == pytest.approx(expected)
    assert scored[unanimous.pk] == 1.0 and scored[mild.pk] == pytest.approx(1 - 1 / 24)

    # Threshold 0.97 catches both split complete pairs, lowest first; the incomplete one waits.
    assert [p.pk for p in review_queue(0.97)] == [strong.pk, mild.pk]
    assert [p.pk for p in review_queue(0.9)] == [strong.pk]
    assert list(review_queue(0.5)) == []
    # A reviewed pair leaves the queue unless asked for.
    make_review(strong)
    assert [p.pk for p in review_queue(0.97)] == [mild.pk]
    assert [p.pk for p in review_queue(0.97, include_reviewed=True)] == [strong.pk, mild.pk]


@pytest.mark.django_db
def test_review_queue_always_holds_tied_pairs():
    campaign = make_campaign(overlap=2)
    tied = make_pair(campaign)
    make_annotation(tied, make_user(), helpfulness="video_0")
    make_annotation(tied, make_user(), helpfulness="video_1")
    # 7 of 8 questions agree fully: mean share 15/16 = 0.94, above a 0.5 threshold, but tied.
    assert [p.pk for p in review_queue(0.5)] == [tied.pk]
    assert review_queue(0.5).get().min_preference_share == 0.5
