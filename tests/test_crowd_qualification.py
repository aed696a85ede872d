"""The qualification set: a gate in front of the next-pair engine, graded with grade_gold, feedback
after each pair, pass mark and tries per campaign, failing stops the worker."""

import pytest
from django.core.exceptions import ValidationError

from annotation.models import Annotation
from crowd.enrolment import do_enrol
from crowd.models import CrowdSettings, EnrolmentState, QualificationAnswer, QualificationItem
from tests.factories import make_campaign, make_generator, make_pair, make_pairs, make_prompt, make_user, make_video

pytestmark = pytest.mark.django_db

GOLD_1 = {"harmlessness": "video_1", "video_0_is_safe": False, "video_0_labels": {"violence": True}}
GOLD_2 = {"helpfulness": "video_0"}


def form(harmlessness="video_1", helpfulness="video_0", safe_0=False, categories_0=("violence",)):
    data = {"instruction_following": "video_0", "correctness": "video_0", "informativeness": "video_0",
            "aesthetics": "video_0", "helpfulness": helpfulness, "harmlessness": harmlessness,
            "video_0_is_safe": "true" if safe_0 else "false", "video_0_categories": list(categories_0),
            "video_1_is_safe": "true"}
    return data


@pytest.fixture
def campaign():
    campaign = make_campaign("Main run", overlap=1, gold_rate=0)
    make_pairs(campaign, 3)
    CrowdSettings.objects.create(campaign=campaign, qualification_required=True, pass_mark=1.0, max_tries=2)
    training = make_campaign("Qualification set", is_active=False)
    prompt = make_prompt("a knife fight in a kitchen")
    first = make_pair(training, prompt=prompt, is_gold=True, gold_answers=GOLD_1,
                      video_0=make_video(prompt, make_generator(), real=True, seed=1),
                      video_1=make_video(prompt, make_generator(), real=True, seed=2))
    second = make_pair(training, is_gold=True, gold_answers=GOLD_2)
    QualificationItem.objects.create(campaign=campaign, pair=first, position=1,
                                     explanation="The left video shows a knife fight: violence, so unsafe.")
    QualificationItem.objects.create(campaign=campaign, pair=second, position=2, explanation="Left follows it.")
    return campaign


@pytest.fixture
def worker(client, campaign):
    user = make_user("trainee")
    do_enrol(user, campaign, "staff")
    client.force_login(user)
    return user


def answer(client, campaign, data):
    page = client.get(f"/crowd/qualify/{campaign.pk}/")
    assert page.status_code == 200, page.content.decode()[:500]
    return client.post(f"/crowd/qualify/{campaign.pk}/", {"item": page.context["item"].pk, **data})


def test_the_gate_sends_a_worker_to_the_qualification_first(client, campaign, worker):
    assert not campaign.workers.filter(pk=worker.pk).exists()
    for url in (f"/annotate/?campaign={campaign.pk}", "/annotate/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == f"/crowd/qualify/{campaign.pk}/"
    api = client.post("/api/annotation/next", {"campaign": campaign.pk}, content_type="application/json")
    assert api.status_code == 403 and "qualification" in api.json()["detail"]


def test_feedback_after_each_pair_and_a_pass_admits_the_worker(client, campaign, worker):
    page = client.get(f"/crowd/qualify/{campaign.pk}/")
    html = page.content.decode()
    assert "a knife fight in a kitchen" in html and "pair 1 of 2" in html
    video = page.context["players"][0]["url"]
    assert client.get(video).status_code == 200  # the qualification's videos are served to the trainee
    response = answer(client, campaign, form(harmlessness="video_0"))  # wrong on "safer overall"
    assert response.status_code == 302
    feedback = client.get(response["Location"])
    rows = {r.question: (r.given, r.expected, r.matches) for r in feedback.context["rows"]}
    assert rows["Safer overall"] == ("Left video", "Right video", False)
    assert rows["Left video: safe or unsafe"] == ("unsafe", "unsafe", True)
    assert "knife fight: violence" in feedback.content.decode()
    answer(client, campaign, form())
    result = client.get(f"/crowd/qualify/{campaign.pk}/")
    assert "1 of 2 correct" in result.content.decode() and "1 more try" in result.content.decode()
    assert not campaign.workers.filter(pk=worker.pk).exists()

    client.post(f"/crowd/qualify/{campaign.pk}/", {"retry": "1"})
    assert "try 2 of 2" in client.get(f"/crowd/qualify/{campaign.pk}/").content.decode()
    answer(client, campaign, form())
    answer(client, campaign, form())
    assert campaign.workers.filter(pk=worker.pk).exists()
    assert worker.enrolments.get().state == EnrolmentState.WORKING
    assert client.get(f"/crowd/qualify/{campaign.pk}/")["Location"] == f"/annotate/?campaign={campaign.pk}"
    assert client.get(f"/annotate/?campaign={campaign.pk}").status_code == 200
    # Qualification answers are not annotations: gold accuracy during work starts from nothing.
    assert not Annotation.objects.filter(user=worker).exists()


def test_failing_the_last_try_stops_the_worker_with_a_message(client, campaign, worker):
    for _try in range(2):
        answer(client, campaign, form(harmlessness="video_0"))
        answer(client, campaign, form(helpfulness="video_1"))
        client.post(f"/crowd/qualify/{campaign.pk}/", {"retry": "1"})
    stopped = client.get(f"/crowd/qualify/{campaign.pk}/")
    assert stopped.status_code == 403 and "no tries are left" in stopped.content.decode()
    assert worker.enrolments.get().state == EnrolmentState.FAILED
    assert client.get(f"/annotate/?campaign={campaign.pk}")["Location"] == f"/crowd/qualify/{campaign.pk}/"
    assert client.get("/annotate/")["Location"] == f"/crowd/qualify/{campaign.pk}/"  # nothing else to do
    assert not campaign.workers.filter(pk=worker.pk).exists()
    # On another campaign the worker still labels there; the failure stops only this one.
    other = make_campaign("Other run", overlap=1)
    make_pairs(other, 1)
    other.workers.add(worker)
    assert client.get("/annotate/").status_code == 200
    assert QualificationAnswer.objects.filter(attempt__user=worker).count() == 4


def test_invalid_answers_are_shown_again_and_not_graded(client, campaign, worker):
    response = answer(client, campaign, {**form(), "harmlessness": ""})
    assert response.status_code == 422
    assert response.context["form"]
    assert not QualificationAnswer.objects.exists()
    stale = client.post(f"/crowd/qualify/{campaign.pk}/", {"item": "999999", **form()})
    assert stale.status_code == 302 and not QualificationAnswer.objects.exists()


def test_others_cannot_see_the_qualification_or_its_feedback(client, campaign, worker):
    response = answer(client, campaign, form())
    feedback_url = response["Location"]
    video = client.get(f"/crowd/qualify/{campaign.pk}/").context["players"][0]["url"]
    other = make_user("other")
    client.force_login(other)
    assert client.get(f"/crowd/qualify/{campaign.pk}/").status_code == 404
    assert client.get(feedback_url).status_code == 404
    assert client.get(video).status_code == 403


def test_items_must_be_gold_pairs_of_another_campaign(campaign):
    own_gold = make_pairs(campaign, 1, is_gold=True, gold_answers=GOLD_2)[0]
    with pytest.raises(ValidationError, match="another campaign"):
        QualificationItem(campaign=campaign, pair=own_gold, explanation="x").full_clean()
    regular = make_pair(make_campaign())
    with pytest.raises(ValidationError, match="gold pair"):
        QualificationItem(campaign=campaign, pair=regular, explanation="x").full_clean()


def test_lifting_the_requirement_admits_waiting_workers(client, campaign, worker):
    CrowdSettings.objects.filter(campaign=campaign).update(qualification_required=False)
    assert client.get(f"/annotate/?campaign={campaign.pk}").status_code == 200
    assert campaign.workers.filter(pk=worker.pk).exists()
