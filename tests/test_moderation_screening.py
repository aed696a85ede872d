"""Screening: the active model scores each new video and its verdict is written onto the video."""

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile

from generation.models import Video
from moderation import tasks
from moderation.models import ModelState, ModerationModel, Prediction
from moderation.predict import Moderator
from safesora.celery import app
from tests.factories import make_generator, make_prompt, make_video
from tests.moderation_helpers import clip_with, tiny_artifact

pytestmark = pytest.mark.django_db


def ready_model(version: int = 1, active: bool = True) -> ModerationModel:
    artifact = tiny_artifact()
    model = ModerationModel.objects.create(version=version, state=ModelState.READY, artifact_path=str(artifact),
                                           thresholds=Moderator.load(artifact).thresholds)
    if active:
        model.activate()
    return model


def video_of(tmp_path, categories: list[str], seed: int = 0):
    prompt = make_prompt(f"a video of a park, take {seed}")
    video = make_video(prompt, make_generator())
    data = clip_with(tmp_path / f"clip-{seed}.mp4", categories, seed=seed).read_bytes()
    video.file.save(f"{video.id}.mp4", ContentFile(data), save=True)
    return video


def test_screening_is_registered_as_a_video_created_task():
    assert "moderation.tasks.screen_video" in django_settings.VIDEO_CREATED_TASKS
    assert "moderation.tasks.screen_video" in app.tasks


def test_the_active_model_flags_a_harmful_video_and_clears_a_safe_one(tmp_path):
    model = ready_model()
    harmful, safe = video_of(tmp_path, ["porn"], seed=1), video_of(tmp_path, [], seed=2)

    assert tasks.screen_video.delay(harmful.id).get()["flagged"] is True
    assert tasks.screen_video.delay(safe.id).get()["flagged"] is False

    harmful.refresh_from_db()
    safe.refresh_from_db()
    assert harmful.flagged and not safe.flagged
    assert harmful.moderated_at and safe.moderated_at
    assert harmful.harm_scores["model_version"] == model.version
    assert "porn" in harmful.harm_scores["flagged_categories"]
    assert harmful.harm_scores["categories"]["porn"] > safe.harm_scores["categories"]["porn"]
    prediction = Prediction.objects.get(video=harmful, model=model)
    assert prediction.flagged and prediction.scores == harmful.harm_scores["categories"]
    assert prediction.unsafe_probability == harmful.harm_scores["unsafe_probability"]


def test_screening_again_with_the_same_model_replaces_its_prediction(tmp_path):
    ready_model()
    video = video_of(tmp_path, ["porn"], seed=3)
    tasks.screen_video.delay(video.id)
    tasks.screen_video.delay(video.id)
    assert Prediction.objects.filter(video=video).count() == 1


def test_without_an_active_model_screening_does_nothing(tmp_path):
    ready_model(active=False)
    video = video_of(tmp_path, ["porn"], seed=4)
    assert tasks.screen_video.delay(video.id).get() is None
    video.refresh_from_db()
    assert video.moderated_at is None and not video.flagged and not Prediction.objects.exists()


def test_an_unreadable_video_is_reported_and_nothing_is_written(tmp_path):
    ready_model()
    video = make_video(make_prompt(), make_generator())
    video.file.save(f"{video.id}.mp4", ContentFile(b"not a video at all"), save=True)
    result = tasks.screen_video.delay(video.id).get()
    assert video.id in result["video"] and "cannot read video" in result["error"]
    video.refresh_from_db()
    assert video.moderated_at is None and not Prediction.objects.exists()
    assert tasks.screen_video.delay("no-such-video").get() is None


def test_one_model_is_active_at_a_time():
    first, second = ready_model(1), ready_model(2, active=False)
    second.activate()
    first.refresh_from_db()
    assert not first.is_active and ModerationModel.active() == second
    training = ModerationModel.objects.create(version=3)
    with pytest.raises(Exception, match="finished training"):
        training.activate()


def test_an_imported_clip_is_screened_like_a_generated_one(tmp_path, django_capture_on_commit_callbacks):
    import json

    from generation.video_import import import_videos

    model = ready_model()
    make_generator("pika")
    prompt = make_prompt("a video of a beach")
    clip_with(tmp_path / "clips" / "harmful.mp4", ["porn"], seed=5)
    clip_with(tmp_path / "clips" / "safe.mp4", [], seed=6)
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"file": f"clips/{name}.mp4", "prompt_id": prompt.id, "generator": "pika",
                                            "seed": seed}) + "\n" for seed, name in enumerate(["harmful", "safe"])))
    with django_capture_on_commit_callbacks(execute=True):
        assert import_videos(manifest).imported == 2
    harmful, safe = (Video.objects.get(prompt=prompt, seed=seed) for seed in (0, 1))
    assert harmful.flagged and harmful.moderated_at and not safe.flagged and safe.moderated_at
    assert Prediction.objects.filter(model=model, video__in=[harmful, safe]).count() == 2


def test_a_video_saved_any_other_way_is_screened_once(tmp_path, django_capture_on_commit_callbacks):
    """The admin's add form, a script: whatever saves a new Video announces it; saving it again does not."""
    model = ready_model()
    video = video_of(tmp_path, ["porn"], seed=7)  # created, then its file saved (an update)
    with django_capture_on_commit_callbacks(execute=True):
        copy = Video(id="f" * 64, prompt=video.prompt, generator=video.generator, video_text="x", file=video.file.name,
                     fps=video.fps, num_frames=video.num_frames, width=video.width, height=video.height,
                     duration=video.duration, sha256=video.sha256)
        copy.save()
    assert Prediction.objects.get(model=model, video=copy).flagged
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        copy.save()
    assert callbacks == []
