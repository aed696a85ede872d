"""Every page of the annotation UI tried as anonymous, as a crowdworker, as another crowdworker,
as a reviewer and as staff; CSRF on every form."""

import pytest
from django.test import Client
from django.urls import reverse

from annotation.assignment import next_assignments, submit_annotation
from annotation.models import Annotation, AssignmentState, Review
from tests.factories import make_campaign, make_pair, make_reviewer, make_user, valid_answers

pytestmark = pytest.mark.django_db

ANSWERS = {"instruction_following": "video_0", "correctness": "video_0", "informativeness": "video_0",
           "aesthetics": "video_0", "helpfulness": "video_0", "harmlessness": "video_0",
           "video_0_is_safe": "true", "video_1_is_safe": "false", "video_1_categories": "crime"}


@pytest.fixture
def world():
    campaign = make_campaign(overlap=2)
    alice, bob = make_user("alice"), make_user("bob")
    campaign.workers.add(alice, bob)
    pair = make_pair(campaign)
    lease = next_assignments(alice, count=1)[0]
    assert lease.pair == pair
    return {"campaign": campaign, "alice": alice, "bob": bob, "pair": pair, "lease": lease,
            "reviewer": make_reviewer("rev"), "staff": make_user("boss", role=None, staff=True)}


def pages(world):
    lease, pair = world["lease"], world["pair"]
    return {
        "annotate": ("get", reverse("annotation:annotate")),
        "submit": ("post", reverse("annotation:submit", args=[lease.pk])),
        "skip": ("post", reverse("annotation:skip", args=[lease.pk])),
        "review_queue": ("get", reverse("annotation:review_queue")),
        "review_pair": ("get", reverse("annotation:review_pair", args=[pair.pk])),
        "review_post": ("post", reverse("annotation:review_pair", args=[pair.pk])),
        "dashboard": ("get", reverse("annotation:dashboard")),
    }


def status(client, method, url, data=None):
    return getattr(client, method)(url, data or {}).status_code


def test_anonymous_is_sent_to_log_in_everywhere(client, world):
    for name, (method, url) in pages(world).items():
        response = getattr(client, method)(url, ANSWERS)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login") + "?next="), name
    # An htmx request is told to load the login page as a whole page.
    response = client.post(pages(world)["submit"][1], ANSWERS, HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("login")
    assert not Annotation.objects.exists() and not Review.objects.exists()
    world["lease"].refresh_from_db()
    assert world["lease"].state == AssignmentState.ACTIVE


def test_crowdworker_labels_but_sees_no_review_queue_dashboard_or_admin(client, world):
    client.force_login(world["alice"])
    p = pages(world)
    assert status(client, *p["annotate"]) == 200
    for name in ("review_queue", "review_pair", "review_post", "dashboard"):
        assert status(client, *p[name], ANSWERS) == 403, name
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("admin:login"))
    assert not Review.objects.exists()


def test_another_crowdworker_cannot_submit_or_skip_my_pair_nor_see_my_labels(client, world):
    alice, bob, lease, pair = world["alice"], world["bob"], world["lease"], world["pair"]
    client.force_login(bob)
    p = pages(world)
    assert status(client, *p["submit"], ANSWERS) == 404
    assert status(client, *p["skip"], {"reason": "other", "details": "mine now"}) == 404
    lease.refresh_from_db()
    assert lease.state == AssignmentState.ACTIVE and not Annotation.objects.exists()

    # Alice labels the pair; Bob gets the same pair (overlap 2) with an empty form, not her answers.
    submit_annotation(alice, lease.pk, valid_answers(harmlessness="video_0",
                                                     video_0={"is_safe": False, "categories": ["porn"]}), 1000)
    page = client.get(reverse("annotation:annotate")).content.decode()
    assert pair.prompt.text in page
    assert " checked" not in page[page.index('id="judgement"'):page.index("</form>")]
    assert "alice" not in page


def test_reviewer_reviews_but_does_not_label_or_see_the_dashboard(client, world):
    client.force_login(world["reviewer"])
    p = pages(world)
    assert status(client, *p["review_queue"]) == 200
    assert status(client, *p["review_pair"]) == 200
    assert status(client, *p["annotate"]) == 403
    assert status(client, *p["submit"], ANSWERS) == 403
    assert status(client, *p["dashboard"]) == 403
    assert status(client, *p["review_post"], ANSWERS) == 302
    assert Review.objects.get().reviewer == world["reviewer"]


def test_staff_see_everything(client, world):
    client.force_login(world["staff"])
    p = pages(world)
    for name in ("annotate", "review_queue", "review_pair", "dashboard"):
        assert status(client, *p[name]) == 200, name
    # Staff are not on the campaign: the page explains the engine's refusal instead of a pair.
    assert "data-refused" in client.get(p["annotate"][1]).content.decode()
    # Someone else's lease is not theirs to submit.
    assert status(client, *p["submit"], ANSWERS) == 404


def test_every_form_needs_the_csrf_token(world):
    strict = Client(enforce_csrf_checks=True)
    p = pages(world)
    strict.force_login(world["alice"])
    assert status(strict, *p["submit"], ANSWERS) == 403
    assert status(strict, *p["skip"], {"reason": "other", "details": "x"}) == 403
    strict.force_login(world["reviewer"])
    assert status(strict, *p["review_post"], ANSWERS) == 403
    assert not Annotation.objects.exists() and not Review.objects.exists()
    world["lease"].refresh_from_db()
    assert world["lease"].state == AssignmentState.ACTIVE
    # The pages carry the token in each form.
    strict.force_login(world["alice"])
    page = strict.get(p["annotate"][1]).content.decode()
    assert page.count("csrfmiddlewaretoken") == 3  # judgement, skip, log out
