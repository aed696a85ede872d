"""Video and poster files: only the lease holder (past or present), reviewers and staff get them;
local files answer byte ranges the way Chromium's <video> asks; S3 media is a signed redirect."""

import time
import urllib.request
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.utils import timezone

from annotation.assignment import next_assignments, release_expired_leases
from annotation.media import poster_url, video_url
from tests.factories import make_campaign, make_generator, make_pair, make_prompt, make_reviewer, make_video
from tests.s3 import use_s3_media

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(crowdworker, other_crowdworker):
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker, other_crowdworker)
    prompt = make_prompt()
    v0 = make_video(prompt, make_generator(), real=True, seed=1)
    v1 = make_video(prompt, make_generator(), real=True, seed=2)
    return make_pair(campaign, prompt=prompt, video_0=v0, video_1=v1)


def as_user(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_lease_holder_gets_the_whole_video_and_poster(pair, crowdworker):
    next_assignments(crowdworker)
    client = as_user(crowdworker)
    response = client.get(video_url(pair.video_0))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4" and response["Accept-Ranges"] == "bytes"
    assert "private" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    assert body == pair.video_0.file.open("rb").read() and body[4:8] == b"ftyp"
    poster = client.get(poster_url(pair.video_1))
    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    assert b"".join(poster.streaming_content)[:2] == b"\xff\xd8"


def test_byte_ranges_answer_206_with_the_right_bytes(pair, crowdworker):
    next_assignments(crowdworker)
    client = as_user(crowdworker)
    url = video_url(pair.video_0)
    data = pair.video_0.file.open("rb").read()
    size = len(data)

    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{size}" and part["Content-Length"] == "100"
    assert b"".join(part.streaming_content) == data[100:200]

    seek = client.get(url, HTTP_RANGE="bytes=1000-")  # what Chromium sends when seeking
    assert seek.status_code == 206 and b"".join(seek.streaming_content) == data[1000:]

    tail = client.get(url, HTTP_RANGE="bytes=-500")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == data[-500:]

    beyond = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{size}"


def test_others_are_refused(pair, crowdworker, other_crowdworker):
    next_assignments(crowdworker)  # overlap 1: alice holds the pair, bob holds nothing
    for user in (None, other_crowdworker):
        client = as_user(user)
        assert client.get(video_url(pair.video_0)).status_code == 403
        assert client.get(video_url(pair.video_1), HTTP_RANGE="bytes=0-10").status_code == 403
        assert client.get(poster_url(pair.video_0)).status_code == 403
    assert as_user(crowdworker).get(video_url("f" * 64)).status_code == 403  # unknown id: same answer


def test_staff_and_reviewers_see_every_video(pair, staff_user):
    for user in (staff_user, make_reviewer()):
        response = as_user(user).get(video_url(pair.video_1), HTTP_RANGE="bytes=0-99")
        assert response.status_code == 206


def test_a_lease_that_expired_still_lets_its_holder_see_it(pair, crowdworker):
    next_assignments(crowdworker)
    release_expired_leases(timezone.now() + timedelta(days=1))
    assert as_user(crowdworker).get(video_url(pair.video_0), HTTP_RANGE="bytes=0-9").status_code == 206


def test_only_get_and_head(pair, crowdworker):
    next_assignments(crowdworker)
    client = as_user(crowdworker)
    assert client.head(video_url(pair.video_0)).status_code == 200
    assert client.post(video_url(pair.video_0)).status_code in (403, 405)


def test_s3_media_redirects_to_a_short_lived_signed_url(settings, s3_endpoint, crowdworker, other_crowdworker):
    use_s3_media(settings, s3_endpoint, "media", querystring_expire=120)
    campaign = make_campaign(overlap=1, gold_rate=0)
    campaign.workers.add(crowdworker, other_crowdworker)
    prompt = make_prompt()
    videos = [make_video(prompt, make_generator()) for _ in range(2)]
    for video in videos:
        video.file.save("v.mp4", ContentFile(b"mp4-bytes-of-" + video.pk.encode()), save=True)
    make_pair(campaign, prompt=prompt, video_0=videos[0], video_1=videos[1])
    next_assignments(crowdworker)

    response = as_user(crowdworker).get(video_url(videos[0]))
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(s3_endpoint) and "Signature=" in location
    expires = int(parse_qs(urlsplit(location).query)["Expires"][0])
    assert 0 < expires - time.time() <= 130  # querystring_expire: valid for two minutes only
    assert urllib.request.urlopen(location).read() == b"mp4-bytes-of-" + videos[0].pk.encode()
    assert as_user(other_crowdworker).get(video_url(videos[0])).status_code == 403
