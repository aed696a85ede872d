"""Bad input on pages and the API is a 4xx with a clear message, never a 500, and writes nothing:
NUL characters anywhere, numbers that are not ids, oversized or non-object API bodies, booleans
as numbers, huge or reversed Range headers, another worker's lease on the HTML form."""

import json

import pytest
from django.test import Client

from annotation.models import Annotation, Assignment
from tests.factories import make_campaign, make_generator, make_pair, make_pairs, make_video, valid_answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(crowdworker, other_crowdworker):
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker, other_crowdworker)
    make_pairs(campaign, 3)
    return campaign


def logged_in(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def post_json(client, url, body):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json")


def lease_of(client) -> int:
    return post_json(client, "/api/annotation/next", {}).json()["assignments"][0]["assignment_id"]


@pytest.mark.parametrize(("body", "words"), [
    ([], "must be a JSON object"),
    ("5", "must be a JSON object"),
    ({"count": True}, "not true or false"),
    ({"campaign": False}, "not true or false"),
    ({"count": 1.5}, "valid integer"),
    ("x" * (10 * 1024 * 1024), "larger than"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"count": ' + "9" * 5000 + "}", ""),
    ({"campaign": 2**70}, "less than or equal"),
])
def test_api_body_errors_are_json_400(campaign, crowdworker, body, words):
    response = post_json(logged_in(crowdworker), "/api/annotation/next", body)
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert words in json.dumps(response.json())
    assert not Assignment.objects.exists()


def test_nul_characters_are_refused_everywhere(campaign, crowdworker, staff_user):
    client = logged_in(crowdworker)
    lease = lease_of(client)
    for response in [
        post_json(client, f"/api/annotation/assignments/{lease}/skip", {"reason": "bad\x00video"}),
        post_json(client, f"/api/annotation/assignments/{lease}/skip", '{"reason": "bad\\u0000video"}'),
        client.post(f"/annotate/{lease}/skip/", {"reason": "other", "details": "a\x00b"}),
        client.get("/annotate/?campaign=%00"),
        client.get("/annotation/videos/%00.mp4"),
        client.get("/annotation/posters/a%00b.jpg"),
    ]:
        assert response.status_code == 400, response.content
        assert b"NUL" in response.content
    assert Assignment.objects.get(pk=lease).state == "active"
    staff = logged_in(staff_user)
    for url in ["/review/%00/", "/admin/generation/prompt/%00/change/", "/admin/generation/prompt/?q=%00"]:
        assert staff.get(url).status_code == 400
    assert staff.post("/review/x/", {"note": "a\x00"}).status_code == 400


@pytest.mark.parametrize("value", ["²", "9" * 5000, "99999999999999999999", "-1", "1e3"])
def test_ids_in_query_parameters_that_are_not_numbers_are_400(campaign, crowdworker, staff_user, value):
    assert logged_in(crowdworker).get("/annotate/", {"campaign": value}).status_code == 400
    staff = logged_in(staff_user)
    assert staff.get("/dashboard/", {"campaign": value}).status_code == 400
    assert staff.get("/review/", {"campaign": value}).status_code == 400


def test_api_numbers_beyond_bigint_are_400_or_404(campaign, crowdworker):
    client = logged_in(crowdworker)
    assert client.get("/api/annotation/history", {"offset": "9" * 30}).status_code == 400
    assert client.get("/api/annotation/history", {"offset": "9" * 5000}).status_code == 400
    assert client.get("/api/annotation/history", {"limit": "²"}).status_code == 400
    answer = post_json(client, "/api/annotation/assignments/" + "9" * 30 + "/submit", {"answers": valid_answers()})
    assert answer.status_code in (400, 404)
    assert client.post("/annotate/" + "9" * 30 + "/submit/", {}).status_code == 404
    assert not Annotation.objects.exists()


def test_html_submit_for_another_workers_lease_or_unknown_id_is_404(campaign, crowdworker, other_crowdworker):
    theirs = lease_of(logged_in(other_crowdworker))
    mine = logged_in(crowdworker)
    assert mine.post(f"/annotate/{theirs}/submit/", {"instruction_following": "video_0"}).status_code == 404
    assert mine.post("/annotate/987654/submit/", {"instruction_following": "video_0"}).status_code == 404
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(("header", "status", "length"), [
    ("bytes=5-3", 200, None),            # last before first: ignored (RFC 9110), the whole file
    ("bytes=" + "9" * 5000 + "-", 416, None),
    ("bytes=99999999999999999999-", 416, None),
    ("bytes=0-" + "9" * 5000, 206, None),  # to the end of the file
    ("bytes=-" + "9" * 5000, 206, None),   # the last "huge" bytes: all of it
    ("bytes=2-5", 206, 4),
])
def test_range_headers(staff_user, header, status, length):
    video = make_video(make_pair().prompt, make_generator(), real=True)
    size = video.file.size
    response = logged_in(staff_user).get(f"/annotation/videos/{video.pk}.mp4", HTTP_RANGE=header)
    assert response.status_code == status
    body = b"".join(response.streaming_content) if status != 416 else b""
    if status == 200 or (status == 206 and length is None):
        assert len(body) == size
    elif length:
        assert len(body) == length
