"""Aggregation rules: majority, agreement, ties, the cautious harm rule, reviewer override, streaming."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation.aggregation import (
    aggregate_pair,
    aggregate_video,
    iter_batches,
    iter_pair_verdicts,
    majority,
    pair_video_verdicts,
    parse_share,
    with_min_agreement,
)
from annotation.models import Annotation, Pair
from safesora.taxonomy import HARM_KEYS, PREFERENCE_QUESTIONS, parse_labels
from tests.factories import (
    make_annotation,
    make_campaign,
    make_generator,
    make_pair,
    make_prompt,
    make_review,
    make_reviewer,
    make_user,
    make_video,
)


def answer(default="video_0", labels_0=(), labels_1=(), safe_0=None, safe_1=None, **choices):
    """An answer dict as annotations give them."""
    record = {q: choices.get(q, default) for q in PREFERENCE_QUESTIONS}
    record.update(video_0_labels=parse_labels(list(labels_0)), video_1_labels=parse_labels(list(labels_1)),
                  video_0_is_safe=not labels_0 if safe_0 is None else safe_0,
                  video_1_is_safe=not labels_1 if safe_1 is None else safe_1)
    return record


def test_majority_and_its_share():
    assert majority(["a", "a", "b"]) == ("a", pytest.approx(2 / 3))
    assert majority(["b", "b", "b"]) == ("b", 1.0)
    assert majority(["a", "b"]) == (None, 0.5)
    assert majority([]) == (None, 0.0)


def test_two_against_one_takes_the_majority_with_two_thirds_agreement():
    verdict = aggregate_pair([answer("video_0"), answer("video_0"), answer("video_1", helpfulness="video_0")])
    assert verdict.choices["harmlessness"] == "video_0"
    assert verdict.agreement["harmlessness"] == pytest.approx(2 / 3)
    assert verdict.choices["helpfulness"] == "video_0"
    assert verdict.agreement["helpfulness"] == 1.0
    assert verdict.decided and verdict.num_annotations == 3 and not verdict.reviewed


def test_a_pairwise_tie_leaves_only_that_question_undecided():
    verdict = aggregate_pair([answer("video_0"), answer("video_0", aesthetics="video_1", harmlessness="video_1")])
    assert verdict.choices["aesthetics"] is None and verdict.choices["harmlessness"] is None
    assert verdict.choices["correctness"] == "video_0"
    assert verdict.agreement["aesthetics"] == 0.5
    assert verdict.undecided == ("aesthetics", "harmlessness")
    assert not verdict.decided


def test_harm_ties_resolve_to_harmful_and_unsafe():
    verdict = aggregate_video([(False, parse_labels(["violence"])), (True, parse_labels([]))])
    assert verdict.labels["violence"] is True
    assert verdict.is_safe is False
    assert verdict.agreement == 0.5
    assert sum(verdict.labels.values()) == 1


def test_a_minority_label_is_dropped_and_the_video_stays_safe():
    verdict = aggregate_video([(True, parse_labels([])), (True, parse_labels([])), (False, parse_labels(["crime"]))])
    assert verdict.is_safe is True
    assert not any(verdict.labels.values())
    assert set(verdict.labels) == set(HARM_KEYS)


def test_a_majority_label_makes_the_video_unsafe_even_if_most_said_safe():
    # Two annotators tick "porn" but one of them still calls the video safe: labels win.
    verdict = aggregate_video([(True, parse_labels(["porn"])), (False, parse_labels(["porn"])), (True, {})])
    assert verdict.labels["porn"] is True
    assert verdict.is_safe is False


def test_unsafe_without_an_agreed_category_stays_unsafe():
    verdict = aggregate_video([(False, parse_labels(["violence"])), (False, parse_labels(["crime"])),
                               (True, parse_labels([]))])
    assert verdict.is_safe is False
    assert not any(verdict.labels.values())


def test_a_review_overrides_every_answer():
    review = answer("video_1", labels_0=["hate"])
    answers = [answer("video_0"), answer("video_0"), answer("video_0")]
    verdict = aggregate_pair(answers, review)
    assert all(verdict.choices[q] == "video_1" for q in PREFERENCE_QUESTIONS)
    assert verdict.reviewed and verdict.decided
    assert verdict.agreement["helpfulness"] == 1.0  # annotators agreed among themselves
    video_0, video_1 = pair_video_verdicts(answers, review)
    assert video_0.labels["hate"] is True and video_0.is_safe is False and video_0.reviewed
    assert video_1.is_safe is True


def test_no_answers_means_nothing_decided():
    verdict = aggregate_pair([])
    assert verdict.undecided == PREFERENCE_QUESTIONS and verdict.agreement["helpfulness"] == 0.0
    assert pair_video_verdicts([])[0].is_safe is None and pair_video_verdicts([])[0].votes == 0


def test_pair_level_video_labels_come_from_its_own_answers():
    video_0, video_1 = pair_video_verdicts([answer(labels_1=["terrorism"]), answer(labels_1=["terrorism"]), answer()])
    assert video_0.is_safe is True
    assert video_1.labels["terrorism"] is True and video_1.is_safe is False


@pytest.mark.django_db
def test_streaming_pools_a_videos_votes_over_its_pairs_and_applies_the_newest_review():
    campaign = make_campaign(overlap=2)
    prompt = make_prompt()
    shared = make_video(prompt, make_generator())
    first = make_pair(campaign, prompt=prompt, video_0=shared)
    second = make_pair(campaign, prompt=prompt, video_1=shared)
    # The shared video: flagged "crime" by 2 of 4 votes over the two pairs -> tie -> harmful.
    ann, bob, reviewer = make_user("ann"), make_user("bob"), make_reviewer("rita")
    make_annotation(first, ann, labels_0=["crime"])
    make_annotation(first, bob)
    make_annotation(second, ann, labels_1=["crime"], helpfulness="video_1")
    make_annotation(second, bob, helpfulness="video_0")

    batches = list(iter_batches(Pair.objects.filter(campaign=campaign)))
    assert len(batches) == 1
    verdicts = {p.id: p for p in batches[0].pairs}
    assert batches[0].videos[shared.id].votes == 4
    assert batches[0].videos[shared.id].labels["crime"] is True
    assert verdicts[second.id].verdict.choices["helpfulness"] is None
    assert verdicts[first.id].complete and verdicts[second.id].complete

    make_review(second, reviewer, helpfulness="video_1", labels_1=["violence"])
    newest = make_review(second, reviewer, helpfulness="video_0", labels_1=[])
    batch = next(iter_batches(Pair.objects.filter(campaign=campaign)))
    verdicts = {p.id: p for p in batch.pairs}
    assert verdicts[second.id].verdict.choices["helpfulness"] == "video_0"
    assert verdicts[second.id].verdict.reviewed
    assert batch.videos[shared.id].is_safe is True and batch.videos[shared.id].reviewed
    assert newest.pk


@pytest.mark.django_db
def test_until_reproduces_the_data_as_it_stood():
    pair = make_pair(make_campaign(overlap=3))
    users = [make_user(f"u{i}") for i in range(3)]
    early = [make_annotation(pair, users[i], harmlessness="video_1") for i in range(2)]
    make_annotation(pair, users[2], harmlessness="video_0")
    cutoff = timezone.now() - datetime.timedelta(days=1)
    Annotation.objects.filter(pk__in=[a.pk for a in early]).update(submitted_at=cutoff - datetime.timedelta(hours=1))

    before = next(iter_pair_verdicts(until=cutoff))
    assert before.verdict.num_annotations == 2 and not before.complete
    assert before.verdict.choices["harmlessness"] == "video_1"
    after = next(iter_pair_verdicts(since=cutoff))
    assert after.verdict.num_annotations == 1
    assert after.verdict.choices["harmlessness"] == "video_0"


@pytest.mark.django_db
def test_streaming_costs_the_same_queries_per_batch_whatever_its_size():
    campaign = make_campaign(overlap=1)
    worker, reviewer = make_user("worker"), make_reviewer("rita")
    for _ in range(6):
        pair = make_pair(campaign)
        make_annotation(pair, worker)
        make_review(pair, reviewer)

    def queries(prompts_per_batch):
        with CaptureQueriesContext(connection) as ctx:
            pairs = list(iter_pair_verdicts(prompts_per_batch=prompts_per_batch))
        assert len(pairs) == 6
        return len(ctx.captured_queries)

    assert queries(6) == 4 + 1  # one batch of four queries, then the empty lookup that ends it
    assert queries(3) == 2 * 4 + 1
    assert [p.prompt_id for p in iter_pair_verdicts()] == sorted(p.prompt_id for p in iter_pair_verdicts())


def test_min_agreement_makes_weak_answers_undecided_but_not_reviewed_ones():
    answers = [answer("video_0"), answer("video_0"), answer("video_0", harmlessness="video_1")]
    strict = with_min_agreement(aggregate_pair(answers), 0.75)
    assert strict.choices["harmlessness"] is None
    assert strict.choices["helpfulness"] == "video_0"
    assert with_min_agreement(aggregate_pair(answers), 0.6).decided
    reviewed = with_min_agreement(aggregate_pair(answers, answer("video_1")), 0.75)
    assert reviewed.choices["harmlessness"] == "video_1"


def answers_split(agree: int, of: int) -> list[dict]:
    return [answer("video_0")] * agree + [answer("video_1")] * (of - agree)


@pytest.mark.parametrize("written", ["0.66", "0.67", "2/3", "67%"])
def test_documented_thresholds_keep_two_of_three_and_three_of_four(written):
    threshold = parse_share(written)
    for agree, of in [(2, 3), (3, 4)]:
        assert with_min_agreement(aggregate_pair(answers_split(agree, of)), threshold).decided, (agree, of, written)
    # ...and still leave out what falls short: 3 of 5 (0.6) and a 1-1 tie.
    assert not with_min_agreement(aggregate_pair(answers_split(3, 5)), threshold).decided
    assert not with_min_agreement(aggregate_pair(answers_split(1, 2)), threshold).decided


def test_three_quarters_leaves_out_two_of_three_but_keeps_three_of_four():
    for written in ("0.75", "3/4"):
        threshold = parse_share(written)
        assert not with_min_agreement(aggregate_pair(answers_split(2, 3)), threshold).decided
        assert with_min_agreement(aggregate_pair(answers_split(3, 4)), threshold).decided


@pytest.mark.parametrize("text", ["", "abc", "1/0", "3/2", "-0.1", "1.5", "150%", "nan/1"])
def test_a_share_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_share(text)
