"""The next-pair engine's rules, one worker at a time (concurrency: test_assignment_concurrency.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.answers import AnswerError
from annotation.assignment import (
    AssignmentError,
    AssignmentNotFound,
    AssignmentRefused,
    LeaseExpired,
    next_assignments,
    release_expired_leases,
    skip_assignment,
    submit_annotation,
    todays_count,
    user_history,
)
from annotation.models import Annotation, Assignment, Pair
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


@pytest.fixture
def campaign():
    return make_campaign(overlap=2, gold_rate=0, lease_seconds=600)


def worker_on(campaign, name=None):
    user = make_user(name)
    campaign.workers.add(user)
    return user


def counts(pair):
    pair.refresh_from_db()
    return pair.claimed_count, pair.annotation_count


def test_live_leases_come_first_then_new_pairs_up_to_count(campaign):
    make_pairs(campaign, 5)
    alice = worker_on(campaign)
    first = next_assignments(alice, count=1)
    assert len(first) == 1
    two = next_assignments(alice, count=2)
    assert [a.pk for a in two][0] == first[0].pk  # the held lease again, oldest first
    assert len({a.pair_id for a in two}) == 2
    assert next_assignments(alice, count=2) == two  # nothing new while two are held
    assert Assignment.objects.filter(user=alice).count() == 2
    lease = two[0]
    assert lease.pair.prompt.text and lease.pair.video_0.pk and lease.expires_at > timezone.now()


def test_claims_prefer_pairs_closest_to_completion(campaign):
    pairs = make_pairs(campaign, 4)
    alice, bob = worker_on(campaign), worker_on(campaign)
    (lease,) = next_assignments(alice)
    (bobs,) = next_assignments(bob)
    assert bobs.pair_id == lease.pair_id  # the half-done pair before any fresh one
    assert counts(Pair.objects.get(pk=lease.pair_id)) == (2, 0)
    assert len(pairs) == 4


def test_among_equally_open_pairs_higher_serving_priority_comes_first(campaign):
    pairs = make_pairs(campaign, 4)
    for pair, priority in zip(pairs, [0, 7, 3, 9], strict=True):
        Pair.objects.filter(pk=pair.pk).update(serve_priority=priority)
    alice, bob = worker_on(campaign), worker_on(campaign)
    assert [a.pair_id for a in next_assignments(alice)] == [pairs[3].pk]
    assert {a.pair_id for a in next_assignments(alice, count=2)} == {pairs[3].pk, pairs[1].pk}
    # Closeness to completion still comes first: bob gets a pair alice started, the higher priority one.
    assert [a.pair_id for a in next_assignments(bob)] == [pairs[3].pk]
    assert {a.pair_id for a in next_assignments(bob, count=2)} == {pairs[3].pk, pairs[1].pk}
    assert {a.pair_id for a in next_assignments(bob, count=3)} == {pairs[3].pk, pairs[1].pk, pairs[2].pk}


def test_every_pair_gets_exactly_its_overlap_of_distinct_workers(campaign):
    pairs = make_pairs(campaign, 3)
    workers = [worker_on(campaign) for _ in range(4)]
    done: dict[int, set[str]] = {w.pk: set() for w in workers}
    for _ in range(10):
        for w in workers:
            for lease in next_assignments(w, count=1):
                assert lease.pair_id not in done[w.pk]
                submit_annotation(w, lease.pk, valid_answers(), 1000)
                done[w.pk].add(lease.pair_id)
    for pair in pairs:
        assert counts(pair) == (2, 2)
        assert Annotation.objects.filter(pair=pair).values("user").distinct().count() == 2
    assert all(next_assignments(w, count=2) == [] for w in workers)


def test_submit_twice_records_one_annotation(campaign):
    (pair,) = make_pairs(campaign, 1)
    alice = worker_on(campaign)
    (lease,) = next_assignments(alice)
    first = submit_annotation(alice, lease.pk, valid_answers(), 1200)
    again = submit_annotation(alice, lease.pk, valid_answers(helpfulness="video_1"), 900)
    assert first.pk == again.pk and again.helpfulness == "video_0"
    assert Annotation.objects.count() == 1 and counts(pair) == (1, 1)
    saved = Annotation.objects.get()
    assert saved.time_spent_ms == 1200 and saved.video_0_labels["violence"] and not saved.video_0_is_safe
    lease.refresh_from_db()
    assert lease.state == "submitted" and lease.finished_at is not None


def test_bad_answers_save_nothing(campaign):
    (pair,) = make_pairs(campaign, 1)
    alice = worker_on(campaign)
    (lease,) = next_assignments(alice)
    with pytest.raises(AnswerError) as err:
        submit_annotation(alice, lease.pk, valid_answers(video_1={"is_safe": False, "categories": []}), 10)
    assert "video_1_categories" in err.value.errors
    lease.refresh_from_db()
    assert lease.state == "active" and Annotation.objects.count() == 0 and counts(pair) == (1, 0)


def test_someone_elses_lease_is_not_found(campaign):
    make_pairs(campaign, 1)
    alice, bob = worker_on(campaign), worker_on(campaign)
    (lease,) = next_assignments(alice)
    with pytest.raises(AssignmentNotFound):
        submit_annotation(bob, lease.pk, valid_answers(), 10)
    with pytest.raises(AssignmentNotFound):
        skip_assignment(bob, lease.pk, "not mine")
    assert Annotation.objects.count() == 0


def test_skip_frees_the_slot_and_the_pair_never_comes_back(campaign):
    (pair,) = make_pairs(campaign, 1)
    alice, bob = worker_on(campaign), worker_on(campaign)
    (lease,) = next_assignments(alice)
    skip_assignment(alice, lease.pk, "cannot watch this")
    lease.refresh_from_db()
    assert lease.state == "skipped" and lease.skip_reason == "cannot watch this"
    assert counts(pair) == (0, 0)
    assert next_assignments(alice) == []
    assert len(next_assignments(bob)) == 1
    with pytest.raises(AssignmentError):
        submit_annotation(alice, lease.pk, valid_answers(), 10)


def test_skip_after_submit_is_refused(campaign):
    make_pairs(campaign, 1)
    alice = worker_on(campaign)
    (lease,) = next_assignments(alice)
    submit_annotation(alice, lease.pk, valid_answers(), 10)
    with pytest.raises(AssignmentError):
        skip_assignment(alice, lease.pk, "too late")


def test_expired_leases_return_to_the_pool(campaign):
    campaign.overlap = 1
    campaign.save()
    (pair,) = make_pairs(campaign, 1)
    alice, bob = worker_on(campaign), worker_on(campaign)
    (lease,) = next_assignments(alice)
    assert next_assignments(bob) == []  # overlap 1: taken
    later = timezone.now() + timedelta(seconds=campaign.lease_seconds + 1)
    (bobs,) = next_assignments(bob, now=later)  # the claim path releases expired leases itself
    assert bobs.pair_id == pair.pk
    lease.refresh_from_db()
    assert lease.state == "expired" and counts(pair) == (1, 0)
    assert next_assignments(alice, now=later) == []  # never the same pair twice


def test_release_expired_leases_counts_and_frees(campaign):
    pairs = make_pairs(campaign, 3)
    alice = worker_on(campaign)
    next_assignments(alice, count=3)
    assert release_expired_leases() == 0
    assert release_expired_leases(timezone.now() + timedelta(hours=1)) == 3
    assert all(counts(p) == (0, 0) for p in pairs)
    assert set(Assignment.objects.values_list("state", flat=True)) == {"expired"}


def test_late_submit_accepted_while_the_pair_has_room(campaign):
    (pair,) = make_pairs(campaign, 1)
    alice = worker_on(campaign)
    (lease,) = next_assignments(alice)
    release_expired_leases(timezone.now() + timedelta(hours=1))
    annotation = submit_annotation(alice, lease.pk, valid_answers(), 10)
    assert annotation.pk and counts(pair) == (1, 1)


def test_late_submit_refused_when_the_pair_went_to_others(campaign):
    campaign.overlap = 1
    campaign.save()
    (pair,) = make_pairs(campaign, 1)
    alice, bob = worker_on(campaign), worker_on(campaign)
    (lease,) = next_assignments(alice)
    later = timezone.now() + timedelta(hours=1)
    (bobs,) = next_assignments(bob, now=later)
    with pytest.raises(LeaseExpired):
        submit_annotation(alice, lease.pk, valid_answers(), 10)
    lease.refresh_from_db()
    assert lease.state == "expired" and Annotation.objects.count() == 0 and counts(pair) == (1, 0)
    submit_annotation(bob, bobs.pk, valid_answers(), 10)
    assert counts(pair) == (1, 1)


def test_refused_when_not_on_an_active_campaign(campaign):
    make_pairs(campaign, 1)
    stranger = make_user()
    with pytest.raises(AssignmentRefused, match="not on any active campaign"):
        next_assignments(stranger)
    with pytest.raises(AssignmentRefused, match="This campaign is not yours") as refused:
        next_assignments(stranger, campaign=campaign)
    assert campaign.name not in str(refused.value)
    reviewer_only = make_user(role=None)
    campaign.workers.add(reviewer_only)
    with pytest.raises(AssignmentRefused, match="crowdworker role"):
        next_assignments(reviewer_only)
    alice = worker_on(campaign)
    campaign.is_active = False
    campaign.save()
    with pytest.raises(AssignmentRefused, match="closed"):
        next_assignments(alice, campaign=campaign)


def test_removed_worker_cannot_submit_a_held_lease(campaign):
    make_pairs(campaign, 1)
    alice = worker_on(campaign)
    (lease,) = next_assignments(alice)
    campaign.workers.remove(alice)
    with pytest.raises(AssignmentRefused):
        submit_annotation(alice, lease.pk, valid_answers(), 10)
    assert Annotation.objects.count() == 0


def test_work_spans_campaigns_the_worker_is_on():
    first, second = make_campaign(overlap=1, gold_rate=0), make_campaign(overlap=1, gold_rate=0)
    make_pairs(first, 1)
    make_pairs(second, 2)
    alice = make_user()
    first.workers.add(alice)
    second.workers.add(alice)
    leases = next_assignments(alice, count=3)
    assert sorted(a.pair.campaign_id for a in leases) == sorted([first.pk, second.pk, second.pk])
    assert [a.pair.campaign_id for a in next_assignments(alice, campaign=second, count=3)] == [second.pk] * 2


def test_history_and_todays_count(campaign):
    make_pairs(campaign, 3)
    alice = worker_on(campaign)
    leases = next_assignments(alice, count=3)
    submit_annotation(alice, leases[0].pk, valid_answers(), 10)
    submit_annotation(alice, leases[1].pk, valid_answers(), 10)
    skip_assignment(alice, leases[2].pk, "blurry")
    assert todays_count(alice) == 2
    page = user_history(alice, limit=2, offset=0)
    assert page.total == 3 and len(page.items) == 2
    rest = user_history(alice, limit=2, offset=2)
    states = [a.state for a in page.items + rest.items]
    assert sorted(states) == ["skipped", "submitted", "submitted"]
    assert todays_count(make_user()) == 0


def test_a_refusal_for_a_campaign_you_are_not_on_does_not_name_it(campaign):
    """Not even when it is closed, and not through the API or the annotation page."""
    from django.test import Client

    Campaign = type(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(name="Project Nightshade")
    make_pairs(campaign, 1)
    stranger = make_user()
    client = Client()
    client.force_login(stranger)
    for active in (True, False):
        Campaign.objects.filter(pk=campaign.pk).update(is_active=active)
        api = client.post("/api/annotation/next", {"campaign": campaign.pk}, content_type="application/json")
        page = client.get(f"/annotate/?campaign={campaign.pk}")
        assert api.status_code == 403 and "not yours" in api.json()["detail"]
        assert b"not yours" in page.content
        for body in (api.content, page.content):
            assert b"Nightshade" not in body
