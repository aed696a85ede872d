"""A worker reopens and corrects their own recent answers: within the campaign's window, only
until the pair is reviewed or exported; the answers are replaced, never added. An optional
comment per pair reaches the reviewers. The labelling page shows "N of M" progress."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotation.answers import AnswerError
from annotation.assignment import (
    AssignmentError,
    AssignmentNotFound,
    campaign_progress,
    edit_annotation,
    editable_annotations,
    next_assignments,
    submit_annotation,
    todays_count,
)
from annotation.models import Annotation, Pair
from annotation.reviews import record_review
from exports.release import mark_exported
from tests.factories import make_campaign, make_pairs, make_reviewer, make_user, valid_answers

pytestmark = [pytest.mark.django_db, pytest.mark.both_databases]


@pytest.fixture
def campaign():
    campaign = make_campaign(overlap=2, gold_rate=0, edit_window_minutes=30)
    make_pairs(campaign, 3)
    return campaign


def submitted(campaign, user=None, **answers):
    user = user or make_user()
    campaign.workers.add(user)
    (lease,) = next_assignments(user)
    return submit_annotation(user, lease.pk, valid_answers(**answers), 1000, comment="  looks staged  ")


def test_a_correction_replaces_the_answers_and_counts_stay(campaign):
    first = submitted(campaign)
    assert Annotation.objects.get(pk=first.pk).comment == "looks staged"
    pair_before = Pair.objects.get(pk=first.pair_id)
    edited = edit_annotation(first.user, first.pk, valid_answers(harmlessness="video_0"), comment="")
    saved = Annotation.objects.get(pk=first.pk)
    assert saved.harmlessness == "video_0" and saved.comment == "" and saved.edited_at is not None
    assert edited.harmlessness == "video_0"
    assert Annotation.objects.count() == 1 and todays_count(first.user) == 1
    pair = Pair.objects.get(pk=first.pair_id)
    assert (pair.claimed_count, pair.annotation_count) == (pair_before.claimed_count, pair_before.annotation_count)
    assert [a.pk for a in editable_annotations(first.user)] == [first.pk]


def test_bad_answers_or_someone_elses_annotation_change_nothing(campaign):
    first = submitted(campaign)
    with pytest.raises(AnswerError):
        edit_annotation(first.user, first.pk, valid_answers(harmlessness="left"))
    with pytest.raises(AnswerError):
        edit_annotation(first.user, first.pk, valid_answers(), comment="x" * 1001)
    with pytest.raises(AssignmentNotFound):
        edit_annotation(make_user(), first.pk, valid_answers(harmlessness="video_0"))
    saved = Annotation.objects.get(pk=first.pk)
    assert saved.harmlessness == "video_1" and saved.edited_at is None and saved.comment == "looks staged"


@pytest.mark.parametrize("closed_by", ["window", "review", "export", "no_window"])
def test_no_correction_after_the_window_a_review_or_an_export(campaign, closed_by):
    first = submitted(campaign)
    now = None
    if closed_by == "window":
        now = timezone.now() + timedelta(minutes=31)
    elif closed_by == "review":
        record_review(first.pair, make_reviewer(), valid_answers(), "")
    elif closed_by == "export":
        mark_exported([first.pair_id], timezone.now())
    else:
        campaign.edit_window_minutes = 0
        campaign.save()
    with pytest.raises(AssignmentError) as refused:
        edit_annotation(first.user, first.pk, valid_answers(harmlessness="video_0"), now=now)
    assert {"window": "time to correct", "no_window": "time to correct", "review": "reviewed",
            "export": "exported"}[closed_by] in refused.value.reason
    assert editable_annotations(first.user, now) == []
    assert Annotation.objects.get(pk=first.pk).harmlessness == "video_1"


def test_a_corrected_gold_answer_is_graded_again():
    campaign = make_campaign(overlap=1, gold_rate=1.0)
    make_pairs(campaign, 1, is_gold=True, gold_answers={"harmlessness": "video_0"})
    first = submitted(campaign)
    assert Annotation.objects.get(pk=first.pk).gold_correct is False
    edit_annotation(first.user, first.pk, valid_answers(harmlessness="video_0"))
    assert Annotation.objects.get(pk=first.pk).gold_correct is True


def test_history_links_to_corrections_and_the_page_saves_them(client, campaign):
    worker = make_user("corrector")
    first = submitted(campaign, worker)
    client.force_login(worker)
    history = client.get(reverse("annotation:history")).content.decode()
    url = reverse("annotation:correct", args=[first.pk])
    assert f'href="{url}"' in history and "looks staged" in history
    page = client.get(url).content.decode()
    assert 'name="comment"' in page and "looks staged" in page
    form = {"instruction_following": "video_0", "correctness": "video_1", "informativeness": "video_0",
            "aesthetics": "video_1", "helpfulness": "video_0", "harmlessness": "video_0",
            "video_0_is_safe": "true", "video_1_is_safe": "true", "comment": "fixed"}
    response = client.post(url, form, follow=True)
    assert "Corrected." in response.content.decode()
    saved = Annotation.objects.get(pk=first.pk)
    assert (saved.harmlessness, saved.video_0_is_safe, saved.comment) == ("video_0", True, "fixed")
    other = make_user("other")
    client.force_login(other)
    assert client.get(url).status_code == 404


def test_reviewers_see_the_comment(client, campaign):
    first = submitted(campaign)
    reviewer = make_reviewer()
    client.force_login(reviewer)
    page = client.get(reverse("annotation:review_pair", args=[first.pair_id])).content.decode()
    assert "looks staged" in page


def test_progress_counts_the_campaign_and_the_day(client, campaign):
    campaign.daily_cap = 5
    campaign.save()
    worker = make_user("progress")
    submitted(campaign, worker)
    progress = campaign_progress(worker, campaign)
    assert (progress.campaign_done, progress.campaign_total, progress.today, progress.daily_cap) == (1, 3, 1, 5)
    client.force_login(worker)
    page = client.get(reverse("annotation:annotate")).content.decode()
    assert "1 of 3 pairs of this campaign" in page and "1 of 5 today" in page


def test_a_correction_refreshes_the_dashboard(campaign):
    from annotation import dashboard

    first = submitted(campaign)
    before = dashboard.figures(campaign)
    assert dashboard.figures(campaign)["computed_at"] == before["computed_at"]  # cached
    edit_annotation(first.user, first.pk, valid_answers(harmlessness="video_0"))
    assert dashboard.figures(campaign)["computed_at"] > before["computed_at"]
