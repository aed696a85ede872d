"""Reviewers: the queue of disputed pairs, every answer on one page, and an append-only final answer."""

import pytest
from django.urls import reverse

from annotation.aggregation import iter_pair_verdicts
from annotation.models import Annotation, Review
from annotation.reviews import record_review
from tests.factories import make_annotation, make_campaign, make_pair, make_reviewer, make_user, valid_answers

pytestmark = pytest.mark.django_db


def review_post(**overrides):
    data = {"instruction_following": "video_1", "correctness": "video_1", "informativeness": "video_1",
            "aesthetics": "video_1", "helpfulness": "video_1", "harmlessness": "video_0",
            "video_0_is_safe": "true", "video_1_is_safe": "false", "video_1_categories": ["crime"],
            "note": "the left one is fine"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def disputed():
    """A complete campaign: one pair everybody agrees on, one split 2-1 on most questions."""
    campaign = make_campaign(overlap=3)
    agreed, split = make_pair(campaign), make_pair(campaign)
    users = [make_user(f"annotator{i}") for i in range(3)]
    for user in users:
        make_annotation(agreed, user)
    make_annotation(split, users[0])
    make_annotation(split, users[1], helpfulness="video_1", correctness="video_1", aesthetics="video_1")
    make_annotation(split, users[2], helpfulness="video_1", harmlessness="video_1", safe_1=False,
                    labels_1=["violence"], informativeness="video_1")
    return campaign, agreed, split


def test_queue_lists_low_agreement_pairs_with_a_configurable_threshold(client, disputed):
    _, agreed, split = disputed
    client.force_login(make_reviewer("rita"))
    page = client.get(reverse("annotation:review_queue")).content.decode()
    assert f'data-pair="{split.pk}"' in page and f'data-pair="{agreed.pk}"' not in page
    # At a threshold of 0.5 the 2-1 splits are good enough; bad values fall back to the default.
    page = client.get(reverse("annotation:review_queue"), {"threshold": "0.5"}).content.decode()
    assert f'data-pair="{split.pk}"' not in page
    page = client.get(reverse("annotation:review_queue"), {"threshold": "seven"}).content.decode()
    assert f'data-pair="{split.pk}"' in page


def test_reviewer_sees_every_answer_and_records_the_final_one_keeping_history(client, disputed):
    _, _, split = disputed
    rita, sam = make_reviewer("rita"), make_reviewer("sam")
    client.force_login(rita)
    url = reverse("annotation:review_pair", args=[split.pk])
    page = client.get(url).content.decode()
    for name in ("annotator0", "annotator1", "annotator2"):
        assert name in page
    assert page.count("data-annotation=") == 3
    assert "S8" in page  # annotator2's violence label on the right video
    assert "Not reviewed yet." in page
    # The form starts from the majority: helpfulness went 2-1 for the right video.
    assert 'name="helpfulness" value="video_1" data-hotkey="KeyY" checked' in page
    before = list(Annotation.objects.filter(pair=split).order_by("id").values())

    response = client.post(url, review_post())
    assert response.status_code == 302 and response["Location"] == url
    first = Review.objects.get()
    assert (first.reviewer, first.note, first.helpfulness, first.harmlessness) == (rita, "the left one is fine",
                                                                                   "video_1", "video_0")
    assert first.video_1_labels["crime"] is True and first.video_0_is_safe is True

    client.force_login(sam)
    client.post(url, review_post(helpfulness="video_0", note="on second thought"))
    assert Review.objects.filter(pair=split).count() == 2
    # The annotators' answers are untouched.
    assert list(Annotation.objects.filter(pair=split).order_by("id").values()) == before

    page = client.get(url).content.decode()
    history = page[page.index("data-history"):]
    assert history.index("sam") < history.index("rita")  # newest first
    assert "on second thought" in history and "the left one is fine" in history
    assert "(current)" in history
    current_row = history[:history.index("</tr>", history.index("(current)"))]
    assert "helpfulness" in current_row  # what sam changed
    # The form now starts from the latest review.
    assert 'name="helpfulness" value="video_0" data-hotkey="KeyT" checked' in page

    # The latest review is the pair's final answer everywhere (exports use the same aggregation).
    verdict = next(p.verdict for p in iter_pair_verdicts() if p.id == split.pk)
    assert verdict.reviewed and verdict.choices["helpfulness"] == "video_0"
    # And the pair left the queue.
    assert f'data-pair="{split.pk}"' not in client.get(reverse("annotation:review_queue")).content.decode()
    page = client.get(reverse("annotation:review_queue"), {"reviewed": "1"}).content.decode()
    assert f'data-pair="{split.pk}"' in page


def test_an_invalid_review_is_shown_again_and_not_saved(client, disputed):
    _, _, split = disputed
    client.force_login(make_reviewer())
    url = reverse("annotation:review_pair", args=[split.pk])
    response = client.post(url, review_post(video_1_categories=None, helpfulness=None, note="half done"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "A video marked unsafe needs at least one harm category." in page
    assert "Choose the left or the right video." in page
    assert "half done" in page
    assert not Review.objects.exists()


def test_record_review_is_for_reviewers_only(disputed):
    from django.core.exceptions import PermissionDenied

    _, _, split = disputed
    with pytest.raises(PermissionDenied):
        record_review(split, make_user("crowd"), valid_answers())
    review = record_review(split, make_reviewer(), valid_answers(), note="  ok  ")
    assert review.note == "ok" and review.video_0_labels["violence"] is True
