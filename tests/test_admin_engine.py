"""The admin goes through the engine: counters and leases are read-only there, leases are released
by an action that calls the engine, and a campaign's new overlap reaches its pairs."""

import pytest
from django.urls import reverse

from annotation.assignment import next_assignments, submit_annotation
from annotation.models import Assignment, AssignmentState, Campaign, Pair
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


def campaign_form(campaign: Campaign, **changes) -> dict:
    data = {f: getattr(campaign, f) for f in ("name", "instructions", "overlap", "lease_seconds", "gold_rate",
                                               "gold_min_accuracy", "gold_min_answers", "break_reminder_minutes",
                                               "edit_window_minutes", "pairing_strategy")}
    data.update(daily_cap="", is_active="on", blur_sensitive="on", include_flagged="on")
    data.update(changes)
    return data


def work(campaign, n_workers, per_worker, submit=True):
    """Each new worker takes `per_worker` pairs and submits them (or keeps the leases)."""
    workers = [make_user() for _ in range(n_workers)]
    campaign.workers.add(*workers)
    for worker in workers if per_worker else ():
        for lease in next_assignments(worker, count=per_worker):
            if submit:
                submit_annotation(worker, lease.pk, valid_answers(), 1000)
    return workers


def test_pair_counters_cannot_be_edited_in_the_admin(client, staff_user):
    campaign = make_campaign(overlap=2, gold_rate=0)
    (pair,) = make_pairs(campaign, 1)
    work(campaign, 1, 1)
    client.force_login(staff_user)
    url = reverse("admin:annotation_pair_change", args=[pair.pk])
    page = client.get(url).content.decode()
    assert 'name="claimed_count"' not in page and 'name="annotation_count"' not in page
    assert 'name="required_annotations"' not in page
    client.post(url, {"campaign": campaign.pk, "prompt": pair.prompt_id, "video_0": pair.video_0_id,
                      "video_1": pair.video_1_id, "claimed_count": 0, "annotation_count": 0,
                      "required_annotations": 1})
    pair.refresh_from_db()
    assert (pair.claimed_count, pair.annotation_count, pair.required_annotations) == (1, 1, 2)


def test_leases_are_read_only_and_released_through_the_engine(client, staff_user):
    campaign = make_campaign(overlap=1, gold_rate=0)
    make_pairs(campaign, 3)
    (worker,) = work(campaign, 1, 3, submit=False)
    done = Assignment.objects.filter(user=worker).first()
    submit_annotation(worker, done.pk, valid_answers(), 1000)
    client.force_login(staff_user)
    lease = Assignment.objects.filter(state=AssignmentState.ACTIVE).first()
    assert client.post(reverse("admin:annotation_assignment_change", args=[lease.pk]),
                       {"state": "submitted"}).status_code == 403
    delete = reverse("admin:annotation_assignment_delete", args=[lease.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    add = client.get(reverse("admin:annotation_assignment_add")).content.decode()
    assert "next-pair engine" in add
    changelist = reverse("admin:annotation_assignment_changelist")
    assert "release_selected" in client.get(changelist).content.decode()

    response = client.post(changelist, {"action": "release_selected", "_selected_action":
                                        list(Assignment.objects.filter(user=worker).values_list("pk", flat=True))},
                           follow=True)
    assert "2 leases released." in response.content.decode()  # the submitted one is left as it is
    states = sorted(Assignment.objects.filter(user=worker).values_list("state", flat=True))
    assert states == ["expired", "expired", "submitted"]
    # The slots are back: another worker gets the two released pairs, never the submitted one.
    assert sorted(p.claimed_count for p in Pair.objects.all()) == [0, 0, 1]
    (other,) = work(campaign, 1, 3, submit=False)
    assert Assignment.objects.filter(user=other).count() == 2


def test_raising_the_overlap_reopens_every_pair(client, staff_user):
    campaign = make_campaign(overlap=1, gold_rate=0)
    make_pairs(campaign, 4)
    work(campaign, 1, 4)
    assert not next_assignments(work(campaign, 1, 0)[0], count=4)  # all complete at overlap 1
    client.force_login(staff_user)
    response = client.post(reverse("admin:annotation_campaign_change", args=[campaign.pk]),
                           campaign_form(campaign, overlap=3), follow=True)
    assert "Overlap 3 applied to 4 pairs." in response.content.decode()
    assert set(Pair.objects.values_list("required_annotations", flat=True)) == {3}
    late = work(campaign, 1, 0)[0]
    assert len(next_assignments(late, count=4)) == 4


def test_lowering_the_overlap_never_goes_below_a_pairs_claims(client, staff_user):
    campaign = make_campaign(overlap=3, gold_rate=0)
    pairs = make_pairs(campaign, 4)
    work(campaign, 2, 1)  # two annotations on the pair closest to completion ...
    work(campaign, 1, 1, submit=False)  # ... and a live lease on it: three claims on one pair
    client.force_login(staff_user)
    response = client.post(reverse("admin:annotation_campaign_change", args=[campaign.pk]),
                           campaign_form(campaign, overlap=1), follow=True)
    page = response.content.decode()
    assert "Overlap 1 applied to 4 pairs." in page
    assert "1 pair could not be lowered to 1" in page
    required = dict(Pair.objects.values_list("id", "required_annotations"))
    held = max(pairs, key=lambda p: Pair.objects.get(pk=p.pk).claimed_count)
    assert required.pop(held.pk) == 3 and set(required.values()) == {1}
    assert Campaign.objects.get(pk=campaign.pk).overlap == 1
