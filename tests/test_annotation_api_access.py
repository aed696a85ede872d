"""The annotation API: every endpoint as anonymous, as the lease holder, as another crowdworker
and as staff; session auth needs CSRF; token auth; bad input is a 400 with field messages."""

import json

import pytest
from django.test import Client

from annotation.models import Annotation, Assignment
from safesora.models import ApiToken
from tests.factories import make_campaign, make_pairs, make_user, valid_answers

pytestmark = pytest.mark.django_db

BASE = "/api/annotation"


def post(client, url, body=None, **headers):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


@pytest.fixture
def setup(crowdworker, other_crowdworker, staff_user):
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker, other_crowdworker)
    make_pairs(campaign, 3)
    return campaign


def logged_in(user, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_anonymous_gets_401_everywhere(client, setup, crowdworker):
    lease_id = Assignment.objects.create(pair=setup.pairs.first(), user=crowdworker,
                                         expires_at="2100-01-01T00:00Z").pk
    assert post(client, f"{BASE}/next").status_code == 401
    assert post(client, f"{BASE}/assignments/{lease_id}/submit", {"answers": valid_answers()}).status_code == 401
    assert post(client, f"{BASE}/assignments/{lease_id}/skip", {"reason": "x"}).status_code == 401
    assert client.get(f"{BASE}/history").status_code == 401
    assert client.get(f"{BASE}/status").status_code == 401
    assert Annotation.objects.count() == 0


def test_worker_cycle_next_submit_history(setup, crowdworker):
    client = logged_in(crowdworker)
    response = post(client, f"{BASE}/next", {"count": 2})
    assert response.status_code == 200
    leases = response.json()["assignments"]
    assert len(leases) == 2
    lease = leases[0]
    assert set(lease) == {"assignment_id", "pair_id", "campaign_id", "prompt_id", "prompt_text", "video_0",
                          "video_1", "leased_at", "expires_at"}
    assert lease["video_0"]["url"].startswith("/annotation/videos/")
    body = {"answers": valid_answers(), "time_spent_ms": 4321}
    first = post(client, f"{BASE}/assignments/{lease['assignment_id']}/submit", body)
    again = post(client, f"{BASE}/assignments/{lease['assignment_id']}/submit", body)
    assert first.status_code == again.status_code == 200
    assert first.json()["annotation_id"] == again.json()["annotation_id"]
    assert Annotation.objects.get().time_spent_ms == 4321
    skipped = post(client, f"{BASE}/assignments/{leases[1]['assignment_id']}/skip", {"reason": "too dark"})
    assert skipped.status_code == 200
    history = client.get(f"{BASE}/history?limit=1").json()
    assert history["total"] == 2 and len(history["items"]) == 1
    everything = client.get(f"{BASE}/history").json()["items"]
    submitted = next(i for i in everything if i["state"] == "submitted")
    assert submitted["answers"]["video_0"] == {"is_safe": False, "categories": ["violence"]}
    status = client.get(f"{BASE}/status").json()
    assert status["today_count"] == 1 and status["campaigns"][0]["refused"] is None


def test_another_crowdworker_cannot_touch_a_lease(setup, crowdworker, other_crowdworker):
    (lease,) = post(logged_in(crowdworker), f"{BASE}/next").json()["assignments"]
    bob = logged_in(other_crowdworker)
    url = f"{BASE}/assignments/{lease['assignment_id']}"
    assert post(bob, f"{url}/submit", {"answers": valid_answers()}).status_code == 404
    assert post(bob, f"{url}/skip", {"reason": "mine now"}).status_code == 404
    assert bob.get(f"{BASE}/history").json()["items"] == []
    bobs = post(bob, f"{BASE}/next", {"count": 3}).json()["assignments"]
    assert lease["pair_id"] not in {b["pair_id"] for b in bobs}  # overlap 1: alice's pair is hers
    assert Assignment.objects.get(pk=lease["assignment_id"]).state == "active"


def test_staff_not_on_the_campaign_is_refused_work_and_cannot_submit_for_others(setup, crowdworker, staff_user):
    (lease,) = post(logged_in(crowdworker), f"{BASE}/next").json()["assignments"]
    staff = logged_in(staff_user)
    refused = post(staff, f"{BASE}/next")
    assert refused.status_code == 403 and "campaign" in refused.json()["detail"]
    assert post(staff, f"{BASE}/assignments/{lease['assignment_id']}/submit",
                {"answers": valid_answers()}).status_code == 404
    assert staff.get(f"{BASE}/history").status_code == 200
    setup.workers.add(staff_user)
    assert len(post(staff, f"{BASE}/next").json()["assignments"]) == 1


def test_user_without_the_role_is_refused(setup):
    reviewer = make_user(role="reviewer")
    setup.workers.add(reviewer)
    client = logged_in(reviewer)
    assert post(client, f"{BASE}/next").status_code == 403
    assert client.get(f"{BASE}/history").status_code == 403


def test_session_writes_need_the_csrf_token(setup, crowdworker):
    client = logged_in(crowdworker, csrf=True)
    assert post(client, f"{BASE}/next").status_code == 403
    assert Assignment.objects.count() == 0
    client.get("/accounts/login/")  # sets the CSRF cookie, as any page does
    token = client.cookies["csrftoken"].value
    assert post(client, f"{BASE}/next", HTTP_X_CSRFTOKEN=token).status_code == 200


def test_token_auth(setup, crowdworker):
    key = ApiToken.issue(crowdworker)
    client = Client(enforce_csrf_checks=True)
    ok = post(client, f"{BASE}/next", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert ok.status_code == 200 and len(ok.json()["assignments"]) == 1
    assert post(client, f"{BASE}/next", HTTP_AUTHORIZATION="Bearer ssk_wrong").status_code == 401
    crowdworker.is_active = False
    crowdworker.save()
    assert post(client, f"{BASE}/next", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.mark.parametrize("body, field", [
    ({}, "answers"),
    ({"answers": "left"}, "answers"),
    ({"answers": valid_answers(), "time_spent_ms": "soon"}, "time_spent_ms"),
    ({"answers": valid_answers(helpfulness=None)}, "helpfulness"),
    ({"answers": valid_answers(aesthetics="video_2")}, "aesthetics"),
    ({"answers": valid_answers(video_0={"is_safe": False, "categories": ["gore"]})}, "video_0_categories"),
    ({"answers": valid_answers(video_1={"is_safe": True, "categories": ["crime"]})}, "video_1_categories"),
    ({"answers": valid_answers(video_1={"is_safe": "maybe"})}, "video_1_is_safe"),
])
def test_bad_input_is_a_400_with_field_messages(setup, crowdworker, body, field):
    client = logged_in(crowdworker)
    (lease,) = post(client, f"{BASE}/next").json()["assignments"]
    response = post(client, f"{BASE}/assignments/{lease['assignment_id']}/submit", body)
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert any(key == field or key.startswith(field) for key in errors), errors
    assert Annotation.objects.count() == 0


def test_malformed_ids_and_params_are_400_not_500(setup, crowdworker):
    client = logged_in(crowdworker)
    assert post(client, f"{BASE}/assignments/abc/submit", {"answers": valid_answers()}).status_code in (400, 404)
    assert post(client, f"{BASE}/next", {"count": 0}).status_code == 400
    assert post(client, f"{BASE}/next", {"campaign": "x"}).status_code == 400
    assert client.get(f"{BASE}/history?limit=-1").status_code == 400
    assert post(client, f"{BASE}/next", {"campaign": 999999}).status_code == 403


def test_openapi_schema_documents_the_answers_shape(client):
    schema = client.get("/api/openapi.json").json()
    submit = schema["components"]["schemas"]["SubmitIn"]["properties"]["answers"]
    assert submit["properties"]["harmlessness"]["enum"] == ["video_0", "video_1"]
    assert "violence" in submit["properties"]["video_0"]["properties"]["categories"]["items"]["enum"]
    assert {"/api/annotation/next", "/api/annotation/history"} <= set(schema["paths"])
