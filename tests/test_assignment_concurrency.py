"""Many annotators at once on real PostgreSQL (threads, each with its own connection): no pair
beyond its overlap, nobody twice on a pair, nothing lost, expired leases back in the pool,
double submits recorded once."""

import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.assignment import next_assignments, release_expired_leases, skip_assignment, submit_annotation
from annotation.models import Annotation, Assignment, Pair
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(target, args_list):
    errors: list[BaseException] = []

    def wrapped(*args):
        try:
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors


def annotator(user, seed: int, abandon_rate: float, skip_rate: float, seen: list):
    rng = random.Random(seed)
    while True:
        leases = next_assignments(user, count=2)  # the pair to show and the one to preload
        if not leases:
            return
        lease = leases[0]
        seen.append((user.pk, lease.pair_id, lease.pk))
        roll = rng.random()
        if roll < abandon_rate:
            return  # closes the tab: the lease (and the preloaded one) will expire
        if roll < abandon_rate + skip_rate:
            skip_assignment(user, lease.pk, "not today")
        else:
            submit_annotation(user, lease.pk, valid_answers(), rng.randint(1000, 9000))


def check_invariants(campaign):
    for pair in Pair.objects.filter(campaign=campaign):
        live = Assignment.objects.filter(pair=pair, state__in=["active", "submitted"]).count()
        annotated = Annotation.objects.filter(pair=pair).count()
        assert pair.claimed_count == live <= pair.required_annotations, pair
        assert pair.annotation_count == annotated, pair
    per_person = Counter(Assignment.objects.filter(pair__campaign=campaign).values_list("pair_id", "user_id"))
    assert max(per_person.values()) == 1
    submitted = Assignment.objects.filter(pair__campaign=campaign, state="submitted")
    assert submitted.count() == Annotation.objects.filter(pair__campaign=campaign).count()
    assert not submitted.filter(annotation__isnull=True).exists()


@pytest.mark.slow
@pytest.mark.parametrize("overlap", [1, 3])
def test_many_annotators_never_over_assign_and_lose_nothing(overlap):
    campaign = make_campaign(overlap=overlap, gold_rate=0, lease_seconds=300)
    pairs = make_pairs(campaign, 24)
    workers = [make_user() for _ in range(8)]
    campaign.workers.add(*workers)
    seen: list = []

    # Round 1: everyone works at once; some skip, some walk away mid-pair.
    run_threads(annotator, [(w, i, 0.1, 0.05, seen) for i, w in enumerate(workers)])
    check_invariants(campaign)

    # The walked-away leases expire and their slots return to the pool.
    abandoned = Assignment.objects.filter(pair__campaign=campaign, state="active").count()
    assert release_expired_leases(timezone.now() + timedelta(seconds=301)) == abandoned
    assert not Assignment.objects.filter(state="active").exists()
    check_invariants(campaign)

    # Round 2: everyone works until nothing is left.
    run_threads(annotator, [(w, 100 + i, 0.0, 0.0, seen) for i, w in enumerate(workers)])
    check_invariants(campaign)
    for pair in Pair.objects.filter(campaign=campaign):
        eligible = len(workers) - Assignment.objects.filter(pair=pair, state__in=["skipped", "expired"]).count()
        assert pair.annotation_count == min(overlap, eligible), pair
    assert Annotation.objects.count() >= len(pairs)  # real work happened
    assert len({(u, p) for u, p, _ in seen}) == len({lease for _, _, lease in seen})  # never twice


def test_double_submits_at_the_same_moment_record_one_annotation():
    campaign = make_campaign(overlap=1, gold_rate=0)
    make_pairs(campaign, 6)
    alice = make_user()
    campaign.workers.add(alice)
    leases = next_assignments(alice, count=6)
    results: dict[int, list[int]] = {lease.pk: [] for lease in leases}

    def double_click(lease_id, barrier):
        barrier.wait()
        results[lease_id].append(submit_annotation(alice, lease_id, valid_answers(), 500).pk)

    for lease in leases:
        barrier = threading.Barrier(3)
        run_threads(double_click, [(lease.pk, barrier)] * 3)
        assert len(set(results[lease.pk])) == 1 and len(results[lease.pk]) == 3
    assert Annotation.objects.count() == 6
    assert set(Pair.objects.values_list("annotation_count", flat=True)) == {1}


def test_one_worker_in_two_tabs_never_gets_a_pair_twice():
    campaign = make_campaign(overlap=2, gold_rate=0)
    make_pairs(campaign, 20)
    alice = make_user()
    campaign.workers.add(alice)

    def tab(barrier):
        for _ in range(10):
            barrier.wait()
            for lease in next_assignments(alice, count=2):
                # Both tabs may hold the same lease: the second submit returns the first's row.
                submit_annotation(alice, lease.pk, valid_answers(), 10)

    barrier = threading.Barrier(2)
    run_threads(tab, [(barrier,), (barrier,)])
    check_invariants(campaign)
    assert Annotation.objects.filter(user=alice).count() == Assignment.objects.filter(
        user=alice, state="submitted").count()
