"""`manage.py moderate` prints a model's scores; both commands fail with a clear message on bad input."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from moderation.models import ModelState, ModerationModel
from moderation.predict import Moderator
from safesora.taxonomy import HARM_KEYS
from tests.factories import make_generator, make_prompt, make_video
from tests.moderation_helpers import clip_with, tiny_artifact

pytestmark = pytest.mark.django_db


@pytest.fixture
def model():
    artifact = tiny_artifact()
    model = ModerationModel.objects.create(version=4, state=ModelState.READY, artifact_path=str(artifact),
                                           thresholds=Moderator.load(artifact).thresholds)
    model.activate()
    return model


def test_moderate_a_file_prints_scores_and_json(model, tmp_path, capsys):
    clip = clip_with(tmp_path / "clip.mp4", ["porn"], seed=5)
    call_command("moderate", str(clip), "--prompt", "a beach at noon")
    text = capsys.readouterr().out
    assert "moderation v4: FLAGGED" in text and "porn" in text and "<- over threshold" in text
    call_command("moderate", str(clip), "--prompt", "a beach at noon", "--json")
    body = json.loads(capsys.readouterr().out)
    assert body["model_version"] == 4 and body["flagged"] and set(body["categories"]) == set(HARM_KEYS)


def test_moderate_a_stored_video_uses_its_own_text(model, tmp_path, capsys):
    video = make_video(make_prompt("a quiet street"), make_generator())
    video.file.save("v.mp4", ContentFile(clip_with(tmp_path / "safe.mp4", [], seed=6).read_bytes()), save=True)
    call_command("moderate", video.id, "--json", "--model", "4")
    assert json.loads(capsys.readouterr().out)["flagged"] is False


def test_moderate_refuses_bad_input(model, tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"junk")
    with pytest.raises(CommandError, match="not a readable video"):
        call_command("moderate", str(bad), "--prompt", "x")
    with pytest.raises(CommandError, match="--prompt is required"):
        call_command("moderate", str(clip_with(tmp_path / "c.mp4", [])))
    with pytest.raises(CommandError, match="no such file"):
        call_command("moderate", str(tmp_path / "missing.mp4"), "--prompt", "x")
    with pytest.raises(CommandError, match="version 9"):
        call_command("moderate", str(bad), "--prompt", "x", "--model", "9")
    model.deactivate()
    with pytest.raises(CommandError, match="no moderation model is active"):
        call_command("moderate", str(bad), "--prompt", "x")


def test_train_moderation_refuses_bad_sources(tmp_path):
    with pytest.raises(CommandError, match="no export run with id 12345"):
        call_command("train_moderation", "--export", "12345")
    with pytest.raises(CommandError, match="no config-train.json.gz"):
        call_command("train_moderation", "--export", str(tmp_path))
    with pytest.raises(CommandError, match="no unfinished training run"):
        call_command("train_moderation", "--export", str(tiny_artifact().parent.parent / "porn-only"), "--resume")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("train_moderation", "--export", str(tiny_artifact().parent.parent / "porn-only"),
                     "--epochs", "0")
    assert not ModerationModel.objects.exists()
