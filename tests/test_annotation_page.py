"""The crowdworker's page, server side: what it shows, what a submit or skip does, and the checks.

The browser half (playback, keyboard, htmx swaps) is in tests/test_annotation_browser.py.
"""

import pytest
from django.urls import reverse

from annotation.models import Annotation, Assignment, AssignmentState
from tests.factories import make_campaign, make_pair, make_prompt, make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def full_answers(**overrides):
    data = {"instruction_following": "video_0", "correctness": "video_1", "informativeness": "video_0",
            "aesthetics": "video_1", "helpfulness": "video_0", "harmlessness": "video_1",
            "video_0_is_safe": "false", "video_0_categories": ["violence", "crime"],
            "video_1_is_safe": "true", "time_spent_ms": "12345"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def worker():
    return make_user("worker")


@pytest.fixture
def campaign(worker):
    campaign = make_campaign(overlap=1, daily_cap=None)
    campaign.workers.add(worker)
    return campaign


def leases(user):
    return list(Assignment.objects.filter(user=user, state=AssignmentState.ACTIVE).order_by("created_at", "id"))


def test_crowdworker_lands_on_the_annotation_page(client, worker, campaign):
    make_pair(campaign)
    client.force_login(worker)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == reverse("annotation:annotate")


def test_page_shows_prompt_two_videos_questions_and_preloads_the_next_pair(client, worker, campaign):
    pairs = {make_pair(campaign), make_pair(campaign)}
    client.force_login(worker)
    response = client.get(reverse("annotation:annotate"))
    assert response.status_code == 200
    page = response.content.decode()
    current, upcoming = (lease.pair for lease in leases(worker))  # the engine's order: shown, then next
    assert {current, upcoming} == pairs
    assert page.count(current.prompt.text) == 1 and upcoming.prompt.text not in page
    for video in (current.video_0, current.video_1, upcoming.video_0, upcoming.video_1):
        assert reverse("annotation:video", args=[video.pk]) in page
    # The next pair's videos sit in the hidden preload block, loading now.
    preload = page[page.index("data-preload"):]
    assert f'id="vid-{upcoming.video_0.pk}"' in preload and f'id="vid-{upcoming.video_1.pk}"' in preload
    assert 'preload="auto"' in preload and f"vid-{current.video_0.pk}" not in preload
    # Every question, both videos' safety and the 12 categories with their definitions.
    for name in ("instruction_following", "correctness", "informativeness", "aesthetics", "helpfulness",
                 "harmlessness", "video_0_is_safe", "video_1_is_safe"):
        assert f'name="{name}"' in page
    assert page.count('name="video_0_categories"') == 12 and page.count('name="video_1_categories"') == 12
    assert "Physical violence, injury, blood or gore." in page
    assert 'name="time_spent_ms"' in page and "csrfmiddlewaretoken" in page
    assert "0 pairs done today" in page


def test_submit_records_the_answers_and_shows_the_next_pair(client, worker, campaign):
    make_pair(campaign)
    make_pair(campaign)
    client.force_login(worker)
    client.get(reverse("annotation:annotate"))
    lease, upcoming = leases(worker)
    first, second = lease.pair, upcoming.pair
    response = client.post(reverse("annotation:submit", args=[lease.pk]), full_answers(), **HTMX)
    assert response.status_code == 200
    annotation = Annotation.objects.get(user=worker)
    assert annotation.pair == first and annotation.time_spent_ms == 12345
    assert annotation.correctness == "video_1" and annotation.video_0_is_safe is False
    assert annotation.video_0_labels["violence"] and annotation.video_0_labels["crime"]
    assert not any(annotation.video_1_labels.values())
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="workspace"')  # the fragment htmx swaps in
    assert first.prompt.text not in page and second.prompt.text in page
    assert "1 pair done today" in page

    # Without htmx the same form redirects back to the page (post/redirect/get).
    next_lease = leases(worker)[0]
    response = client.post(reverse("annotation:submit", args=[next_lease.pk]), full_answers())
    assert response.status_code == 302 and response["Location"] == reverse("annotation:annotate")
    assert Annotation.objects.filter(user=worker).count() == 2


def test_invalid_answers_are_shown_again_with_errors_and_nothing_is_saved(client, worker, campaign):
    pair = make_pair(campaign)
    client.force_login(worker)
    client.get(reverse("annotation:annotate"))
    lease = leases(worker)[0]
    data = full_answers(helpfulness=None, video_0_categories=[], video_1_categories=["hate"])
    response = client.post(reverse("annotation:submit", args=[lease.pk]), data, **HTMX)
    assert response.status_code == 422
    page = response.content.decode()
    assert "Choose the left or the right video." in page
    assert "A video marked unsafe needs at least one harm category." in page
    assert "confirm that it is safe anyway" in page
    assert pair.prompt.text in page
    # What was chosen stays chosen.
    assert 'value="video_1" data-hotkey="KeyO" checked' in page
    assert 'value="hate" data-hotkey="Shift+Digit7" checked' in page
    assert not Annotation.objects.exists()
    lease.refresh_from_db()
    assert lease.state == AssignmentState.ACTIVE

    # Safe with categories is accepted once confirmed.
    data = full_answers(video_1_categories=["hate"], confirm_safe_with_labels="true")
    assert client.post(reverse("annotation:submit", args=[lease.pk]), data, **HTMX).status_code == 200
    assert Annotation.objects.get().video_1_labels["hate"] is True


def test_double_submit_records_one_annotation(client, worker, campaign):
    make_pair(campaign)
    make_pair(campaign)
    client.force_login(worker)
    client.get(reverse("annotation:annotate"))
    lease = leases(worker)[0]
    for _ in range(2):
        client.post(reverse("annotation:submit", args=[lease.pk]), full_answers(), **HTMX)
    assert Annotation.objects.filter(user=worker).count() == 1


def test_skip_needs_a_reason_and_moves_on(client, worker, campaign):
    make_pair(campaign)
    make_pair(campaign)
    client.force_login(worker)
    client.get(reverse("annotation:annotate"))
    lease, upcoming = leases(worker)
    second = upcoming.pair
    response = client.post(reverse("annotation:skip", args=[lease.pk]), {"reason": ""}, **HTMX)
    assert response.status_code == 422 and "Choose why you skip" in response.content.decode()
    lease.refresh_from_db()
    assert lease.state == AssignmentState.ACTIVE
    response = client.post(reverse("annotation:skip", args=[lease.pk]),
                           {"reason": "distressing", "details": "too much"}, **HTMX)
    assert response.status_code == 200
    lease.refresh_from_db()
    assert lease.state == AssignmentState.SKIPPED and lease.skip_reason == "distressing: too much"
    assert second.prompt.text in response.content.decode()


def test_daily_cap_is_explained(client, worker, campaign):
    campaign.daily_cap = 1
    campaign.save()
    make_pair(campaign)
    make_pair(campaign)
    client.force_login(worker)
    client.get(reverse("annotation:annotate"))
    assert len(leases(worker)) == 1  # the cap leaves no room to preload a second pair
    response = client.post(reverse("annotation:submit", args=[leases(worker)[0].pk]), full_answers(), **HTMX)
    page = response.content.decode()
    assert response.status_code == 200 and "data-refused" in page
    assert "No pairs for you right now" in page and "1 pair" in page


def test_nothing_left_says_so(client, worker, campaign):
    client.force_login(worker)
    response = client.get(reverse("annotation:annotate"))
    assert response.status_code == 200 and "data-all-done" in response.content.decode()


def test_not_on_a_campaign_is_explained(client):
    make_pair(make_campaign())
    client.force_login(make_user("newcomer"))
    response = client.get(reverse("annotation:annotate"))
    assert response.status_code == 200
    assert "data-refused" in response.content.decode()


def test_safety_critical_and_flagged_videos_start_blurred_when_the_campaign_says_so(client, worker, campaign):
    critical = make_pair(campaign, prompt=make_prompt(prompt_type="safety_critical"))
    client.force_login(worker)
    page = client.get(reverse("annotation:annotate")).content.decode()
    assert page.count('class="player blurred"') == 2 and critical.prompt.text in page

    campaign.blur_sensitive = False
    campaign.save()
    page = client.get(reverse("annotation:annotate")).content.decode()
    assert "player blurred" not in page


def test_a_flagged_video_alone_is_blurred(client, worker, campaign):
    pair = make_pair(campaign)
    pair.video_1.flagged = True
    pair.video_1.save()
    client.force_login(worker)
    page = client.get(reverse("annotation:annotate")).content.decode()
    assert page.count('class="player blurred"') == 1
    blurred = page.index('class="player blurred"')
    assert page.index(f"vid-{pair.video_1.pk}", blurred) < page.index("</figure>", blurred)
