"""The ORM path of the engine (what the SQLite demo runs) keeps the same rules; here it runs on
PostgreSQL, which the engine would otherwise serve with its single-statement SQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation import assignment
from annotation.models import Annotation, Pair
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def orm_path(monkeypatch):
    monkeypatch.setattr(assignment, "one_statement_sql", lambda: False)


def test_overlap_idempotent_submit_skip_expiry_and_gold():
    campaign = make_campaign(overlap=2, gold_rate=1.0, lease_seconds=60)
    make_pairs(campaign, 3)
    (gold,) = make_pairs(campaign, 1, is_gold=True, gold_answers={"harmlessness": "video_1"})
    workers = [make_user() for _ in range(3)]
    campaign.workers.add(*workers)
    first = assignment.next_assignments(workers[0], count=2)
    assert first[0].pair_id == gold.pk or first[1].pair_id == gold.pk
    for lease in first:
        one = assignment.submit_annotation(workers[0], lease.pk, valid_answers(), 10)
        assert assignment.submit_annotation(workers[0], lease.pk, valid_answers(), 10).pk == one.pk
    (skipped, *_) = assignment.next_assignments(workers[1])
    assignment.skip_assignment(workers[1], skipped.pk, "no")
    abandoned = assignment.next_assignments(workers[2], count=4)
    assert assignment.release_expired_leases(timezone.now() + timedelta(minutes=5)) == len(abandoned)
    for worker in workers:
        while leases := assignment.next_assignments(worker):
            assignment.submit_annotation(worker, leases[0].pk, valid_answers(), 10)
    for pair in Pair.objects.filter(is_gold=False):
        assert pair.claimed_count == pair.annotation_count == 2
        assert Annotation.objects.filter(pair=pair).values("user").distinct().count() == 2
    assert Annotation.objects.get(pair=gold, user=workers[0]).gold_correct is True
    assert Pair.objects.get(pk=gold.pk).annotation_count == 0
