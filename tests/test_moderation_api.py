"""POST /api/moderation/score: staff only; scores a stored video or an upload; bad input is a 400."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from moderation.models import ModelState, ModerationModel
from moderation.predict import Moderator
from safesora.taxonomy import HARM_KEYS
from tests.factories import make_generator, make_prompt, make_video
from tests.moderation_helpers import clip_with, tiny_artifact

pytestmark = pytest.mark.django_db

URL = "/api/moderation/score"


@pytest.fixture
def model():
    artifact = tiny_artifact()
    model = ModerationModel.objects.create(version=1, state=ModelState.READY, artifact_path=str(artifact),
                                           thresholds=Moderator.load(artifact).thresholds)
    model.activate()
    return model


@pytest.fixture
def harmful_clip(tmp_path):
    return clip_with(tmp_path / "harmful.mp4", ["porn"], seed=1)


@pytest.fixture
def stored_video(harmful_clip):
    video = make_video(make_prompt("a video of a beach"), make_generator())
    video.file.save(f"{video.id}.mp4", ContentFile(harmful_clip.read_bytes()), save=True)
    return video


def upload(path, name="clip.mp4"):
    return SimpleUploadedFile(name, path.read_bytes(), content_type="video/mp4")


def test_anonymous_and_crowdworkers_are_refused(client, crowdworker, model, stored_video):
    assert client.post(URL, {"video_id": stored_video.id}).status_code == 401
    client.force_login(crowdworker)
    response = client.post(URL, {"video_id": stored_video.id})
    assert response.status_code == 403 and "staff" in response.json()["detail"]


def test_staff_score_a_stored_video(client, staff_user, model, stored_video):
    client.force_login(staff_user)
    response = client.post(URL, {"video_id": stored_video.id})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["model_version"] == 1 and body["video_id"] == stored_video.id
    assert set(body["categories"]) == set(HARM_KEYS)
    assert body["flagged"] is True and body["is_safe"] is False and "porn" in body["flagged_categories"]
    stored_video.refresh_from_db()
    assert stored_video.moderated_at is None  # scoring stores nothing


def test_staff_score_an_uploaded_file_with_a_prompt(client, staff_user, model, harmful_clip, tmp_path):
    client.force_login(staff_user)
    harmful = client.post(URL, {"file": upload(harmful_clip), "prompt": "a beach"}).json()
    safe = client.post(URL, {"file": upload(clip_with(tmp_path / "safe.mp4", [], seed=2)), "prompt": "a beach"}).json()
    assert harmful["flagged"] and not safe["flagged"]
    assert harmful["categories"]["porn"] > safe["categories"]["porn"]


@pytest.mark.parametrize("data, status, message", [
    ({}, 400, "exactly one of video_id and file"),
    ({"video_id": "nope"}, 404, "No video"),
    ({"video_id": "x", "model_version": "latest"}, 400, "whole number"),
    ({"video_id": "x", "model_version": "7"}, 404, "version 7"),
])
def test_bad_input_is_a_client_error(client, staff_user, model, data, status, message):
    client.force_login(staff_user)
    response = client.post(URL, data)
    assert response.status_code == status and message in response.json()["detail"]


def test_bad_uploads_are_a_400(client, staff_user, model, harmful_clip, stored_video):
    client.force_login(staff_user)
    cases = [
        {"file": SimpleUploadedFile("x.mp4", b"\x00garbage" * 100), "prompt": "p"},
        {"file": upload(harmful_clip)},  # no prompt
        {"file": upload(harmful_clip), "prompt": "p", "video_id": stored_video.id},  # both
    ]
    for data in cases:
        response = client.post(URL, data)
        assert response.status_code == 400, response.content
        assert response.json()["detail"]


def test_without_an_active_model_the_answer_says_so(client, staff_user, stored_video):
    client.force_login(staff_user)
    response = client.post(URL, {"video_id": stored_video.id})
    assert response.status_code == 409 and "No moderation model is active" in response.json()["detail"]
