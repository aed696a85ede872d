"""Quality control in the engine: gold pairs graded and mixed in, workers below the gold
threshold refused with the reason, the daily cap."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.assignment import (
    AssignmentRefused,
    next_assignments,
    refusal_reason,
    skip_assignment,
    standings,
    submit_annotation,
    todays_count,
)
from annotation.models import Annotation, Pair
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]

GOLD = {"harmlessness": "video_1", "video_0_is_safe": False, "video_0_labels": {"violence": True}}


@pytest.fixture
def campaign():
    campaign = make_campaign(overlap=1, gold_rate=1.0, gold_min_answers=3, gold_min_accuracy=0.7)
    make_pairs(campaign, 3, is_gold=True, gold_answers=GOLD)
    make_pairs(campaign, 4)
    return campaign


def work(user, n, **answers):
    """Take and submit n pairs one at a time; returns the pairs in order."""
    pairs = []
    for _ in range(n):
        (lease,) = next_assignments(user)
        submit_annotation(user, lease.pk, valid_answers(**answers), 1000)
        pairs.append(lease.pair)
    return pairs


def test_gold_is_served_to_everyone_once_and_graded(campaign):
    alice, bob = make_user(), make_user()
    campaign.workers.add(alice, bob)
    assert all(p.is_gold for p in work(alice, 3))  # gold_rate 1: gold first while there is any
    assert all(p.is_gold for p in work(bob, 3))  # overlap 1 does not limit gold pairs
    assert not work(alice, 1)[0].is_gold  # no gold left for alice: a regular pair
    gold = Pair.objects.filter(is_gold=True)
    assert all(p.claimed_count == 0 and p.annotation_count == 0 for p in gold)
    assert Annotation.objects.filter(pair__is_gold=True).count() == 6
    assert set(Annotation.objects.filter(pair__is_gold=True).values_list("gold_correct", flat=True)) == {True}
    assert set(Annotation.objects.filter(pair__is_gold=False).values_list("gold_correct", flat=True)) == {None}


def test_worker_below_the_gold_threshold_is_refused_with_the_reason(campaign):
    careless, careful = make_user(), make_user()
    campaign.workers.add(careless, careful)
    work(careless, 2, harmlessness="video_0")
    assert refusal_reason(careless, campaign) is None  # not enforced before gold_min_answers
    work(careless, 1, harmlessness="video_0")
    with pytest.raises(AssignmentRefused) as refused:
        next_assignments(careless)
    assert "0%" in refused.value.reason and "0 of 3" in refused.value.reason
    assert refusal_reason(careless, campaign) == refused.value.reason  # what the admin is shown
    (standing,) = standings(careless, campaign)
    assert standing.gold_answered == 3 and standing.gold_correct == 0 and standing.gold_accuracy == 0
    work(careful, 4)
    assert refusal_reason(careful, campaign) is None


def test_labels_must_match_too(campaign):
    alice = make_user()
    campaign.workers.add(alice)
    work(alice, 1, video_0={"is_safe": False, "categories": ["crime"]})  # violence missing
    assert Annotation.objects.get().gold_correct is False


def test_no_gold_when_the_rate_is_zero(campaign):
    campaign.gold_rate = 0
    campaign.save()
    alice = make_user()
    campaign.workers.add(alice)
    assert not any(p.is_gold for p in work(alice, 4))
    assert next_assignments(alice) == []


def test_daily_cap(campaign):
    campaign.gold_rate, campaign.daily_cap = 0, 2
    campaign.save()
    make_pairs(campaign, 2)
    alice = make_user()
    campaign.workers.add(alice)
    leases = next_assignments(alice, count=5)
    assert len(leases) == 2  # never more leases than the cap leaves
    for lease in leases:
        submit_annotation(alice, lease.pk, valid_answers(), 10)
    assert todays_count(alice) == 2
    with pytest.raises(AssignmentRefused, match="today's limit of 2"):
        next_assignments(alice)
    assert "today's limit" in refusal_reason(alice, campaign)
    assert standings(alice, campaign)[0].today_count == 2
    campaign.daily_cap = None  # without a cap the claim does not count the day's work at all
    campaign.save()
    assert standings(alice, campaign)[0].today_count is None
    (extra,) = next_assignments(alice)
    skip_assignment(alice, extra.pk, "test")
    campaign.daily_cap = 2
    campaign.save()
    Annotation.objects.filter(user=alice).update(submitted_at=timezone.now() - timedelta(days=1))
    assert todays_count(alice) == 0
    assert len(next_assignments(alice, count=5)) == 2


def test_the_dashboards_today_is_what_the_daily_cap_counts(client, staff_user):
    """A campaign's dashboard shows each annotator's count of today in every campaign, the engine's."""
    from django.urls import reverse

    from annotation.quality import annotator_stats

    capped = make_campaign(overlap=1, gold_rate=0, daily_cap=3)
    other = make_campaign(overlap=1, gold_rate=0)
    make_pairs(capped, 4)
    make_pairs(other, 4)
    worker = make_user("capped")
    capped.workers.add(worker)
    other.workers.add(worker)
    for campaign, n in ((other, 2), (capped, 1)):
        for _ in range(n):
            (lease,) = next_assignments(worker, campaign)
            submit_annotation(worker, lease.pk, valid_answers(), 1000)
    (mine,) = [s for s in annotator_stats(capped) if s.user_id == worker.pk]
    assert (mine.annotations, mine.today) == (1, 3) == (1, todays_count(worker))
    assert refusal_reason(worker, capped) is not None  # the cap saw the same 3
    client.force_login(staff_user)
    page = client.get(reverse("annotation:dashboard"), {"campaign": capped.pk}).content.decode()
    row = page[page.index('data-annotator="capped"'):]
    assert "<td>capped</td><td>1</td><td>3</td>" in row[:200]
