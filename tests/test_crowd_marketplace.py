"""Prolific and MTurk entry URLs: validation (400, never 500), password-less accounts found again
by their marketplace id, enrolment, and the completion code at the end of the quota or the pairs."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from annotation.assignment import next_assignments, submit_annotation
from annotation.models import Annotation
from crowd.models import CrowdSettings, Enrolment, MarketplaceAccount
from tests.factories import make_campaign, make_pairs, valid_answers

pytestmark = pytest.mark.django_db
User = get_user_model()
PROLIFIC = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "study42", "SESSION_ID": "sess1"}
MTURK = {"workerId": "A1B2C3D4E5", "assignmentId": "3XYZASSIGN", "hitId": "3HITID",
         "turkSubmitTo": "https://workersandbox.mturk.com"}


@pytest.fixture
def prolific():
    campaign = make_campaign("Prolific run", overlap=1, gold_rate=0)
    make_pairs(campaign, 5)
    return CrowdSettings.objects.create(campaign=campaign, marketplace="prolific", completion_code="C0DE42",
                                        quota=2, prolific_study_id="study42")


@pytest.fixture
def mturk():
    campaign = make_campaign("MTurk run", overlap=1, gold_rate=0)
    make_pairs(campaign, 1)
    return CrowdSettings.objects.create(campaign=campaign, marketplace="mturk", completion_code="TURKDONE")


def enter(client, crowd, params):
    return client.get(f"/crowd/enter/{crowd.entry_key}/", params)


def label(client, campaign_id):
    """Submit the pair the labelling page shows (through the engine, as the page's form does)."""
    user = client.get("/annotate/").wsgi_request.user
    (lease,) = next_assignments(user, campaign_id)
    submit_annotation(user, lease.pk, valid_answers(), 4000)


def test_prolific_entry_makes_an_account_logs_in_and_ends_with_the_code(client, prolific):
    response = enter(client, prolific, PROLIFIC)
    campaign = prolific.campaign
    assert response.status_code == 302 and response["Location"] == f"/annotate/?campaign={campaign.pk}"
    account = MarketplaceAccount.objects.get(marketplace="prolific", worker_id=PROLIFIC["PROLIFIC_PID"])
    user = account.user
    assert not user.has_usable_password() and campaign.workers.filter(pk=user.pk).exists()
    enrolment = Enrolment.objects.get(user=user, campaign=campaign)
    assert (enrolment.source, enrolment.study_id, enrolment.session_id) == ("prolific", "study42", "sess1")
    page = client.get(f"/annotate/?campaign={campaign.pk}")
    assert page.status_code == 200 and page.wsgi_request.user == user

    not_yet = client.get(f"/crowd/done/{campaign.pk}/")
    assert "Not done yet" in not_yet.content.decode() and "C0DE42" not in not_yet.content.decode()
    label(client, campaign.pk)
    label(client, campaign.pk)
    # Quota reached: the labelling page sends the worker to the code, the API refuses more pairs.
    stop = client.get(f"/annotate/?campaign={campaign.pk}")
    assert stop.status_code == 302 and stop["Location"] == f"/crowd/done/{campaign.pk}/"
    htmx = client.get(f"/annotate/?campaign={campaign.pk}", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"] == f"/crowd/done/{campaign.pk}/"
    api = client.post("/api/annotation/next", {"campaign": campaign.pk}, content_type="application/json")
    assert api.status_code == 403 and "completion code" in api.json()["detail"]
    done = client.get(f"/crowd/done/{campaign.pk}/").content.decode()
    assert "C0DE42" in done
    assert 'href="https://app.prolific.com/submissions/complete?cc=C0DE42"' in done
    assert Annotation.objects.filter(user=user).count() == 2

    # Coming back (a new session on Prolific) finds the same account and updates the session id.
    client.logout()
    enter(client, prolific, {**PROLIFIC, "SESSION_ID": "sess2"})
    assert MarketplaceAccount.objects.count() == 1
    assert Enrolment.objects.get(user=user).session_id == "sess2"


@pytest.mark.parametrize("params, bad", [
    ({}, ["PROLIFIC_PID", "STUDY_ID", "SESSION_ID"]),
    ({**PROLIFIC, "PROLIFIC_PID": "x" * 65}, ["PROLIFIC_PID"]),
    ({**PROLIFIC, "PROLIFIC_PID": "a b<script>"}, ["PROLIFIC_PID"]),
    ({**PROLIFIC, "STUDY_ID": "otherstudy"}, ["STUDY_ID"]),
    ({**PROLIFIC, "SESSION_ID": ""}, ["SESSION_ID"]),
])
def test_bad_prolific_parameters_answer_400_and_create_nothing(client, prolific, params, bad):
    response = enter(client, prolific, params)
    assert response.status_code == 400
    text = response.content.decode()
    for name in bad:
        assert f"<code>{name}</code>" in text
    assert not User.objects.exists()
    assert "_auth_user_id" not in client.session


def test_unknown_or_closed_entry_keys(client, prolific):
    assert client.get("/crowd/enter/nope/", PROLIFIC).status_code == 404
    prolific.marketplace = ""
    prolific.save()
    assert enter(client, prolific, PROLIFIC).status_code == 404
    prolific.marketplace = "prolific"
    prolific.save()
    prolific.campaign.is_active = False
    prolific.campaign.save()
    assert enter(client, prolific, PROLIFIC).status_code == 410


def test_mturk_preview_shows_the_task_without_an_account(client, mturk):
    response = enter(client, mturk, {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "3HITID"})
    assert response.status_code == 200 and "Accept the HIT to start" in response.content.decode()
    assert not User.objects.exists()


def test_mturk_entry_and_submission_when_the_campaign_runs_out(client, mturk):
    assert enter(client, mturk, {**MTURK, "turkSubmitTo": "https://evil.example"}).status_code == 400
    assert enter(client, mturk, {**MTURK, "hitId": "bad id"}).status_code == 400
    response = enter(client, mturk, MTURK)
    campaign = mturk.campaign
    assert response.status_code == 302
    user = MarketplaceAccount.objects.get(marketplace="mturk", worker_id="A1B2C3D4E5").user
    assert user.username == "mturk-A1B2C3D4E5"
    label(client, campaign.pk)  # the only pair: the campaign ran out (no quota set)
    assert client.get(f"/annotate/?campaign={campaign.pk}")["Location"] == f"/crowd/done/{campaign.pk}/"
    done = client.get(f"/crowd/done/{campaign.pk}/").content.decode()
    assert "TURKDONE" in done
    assert 'action="https://workersandbox.mturk.com/mturk/externalSubmit"' in done
    assert 'name="assignmentId" value="3XYZASSIGN"' in done


def test_done_page_is_only_for_the_campaigns_marketplace_workers(client, prolific, crowdworker):
    client.force_login(crowdworker)
    assert client.get(f"/crowd/done/{prolific.campaign.pk}/").status_code == 404
    client.logout()
    assert client.get(f"/crowd/done/{prolific.campaign.pk}/").status_code == 302


def test_a_marketplace_campaign_needs_a_completion_code(prolific):
    prolific.completion_code = ""
    with pytest.raises(ValidationError):
        prolific.full_clean()
