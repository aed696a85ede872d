"""One rule for "is this an acceptable video file" (generation.encoding.check_video_file), applied by
import_videos, `manage.py moderate` and POST /api/moderation/score: text files, still images,
files over the size, resolution or duration limits are refused before anything is decoded, and a
refused import record writes nothing (no prompt, no video). Manifest paths stay under the
manifest's folder or VIDEO_IMPORT_ROOT."""

import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from PIL import Image

from generation.encoding import encode_mp4
from generation.models import Prompt, Video
from generation.video_import import import_videos
from moderation.models import ModelState, ModerationModel
from moderation.predict import Moderator
from tests.factories import make_generator, moving_square_frames
from tests.moderation_helpers import tiny_artifact

pytestmark = pytest.mark.django_db

TEXT = "".join(f"line {n}: this is a plain text file, which FFmpeg's tty demuxer would render\n" for n in range(200))


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "notes.txt").write_text(TEXT)
    (folder / "notes.mp4").write_text(TEXT)
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(folder / "still.png")
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(folder / "still.jpg")
    encode_mp4(moving_square_frames(1, seed=1), 8, folder / "one_frame.mp4")
    encode_mp4(moving_square_frames(12, size=96, seed=2), 8, folder / "wide.mp4")  # 96 px: over a 64 px limit
    encode_mp4(moving_square_frames(12, seed=3), 8, folder / "good.mp4")
    (tmp_path / "outside.mp4").write_bytes((folder / "good.mp4").read_bytes())
    return folder


REFUSED = [
    ("notes.txt", "not a"),
    ("notes.mp4", "not a readable video"),
    ("still.png", "not a video container"),
    ("still.jpg", "not a video container"),
    ("one_frame.mp4", "still image"),
    ("wide.mp4", "VIDEO_MAX_SIDE"),
    ("../outside.mp4", "outside the manifest's folder"),
]


def test_refused_records_write_nothing(files, settings):
    settings.VIDEO_MAX_SIDE = 64
    make_generator("ext")
    records = [{"file": name, "prompt_text": f"new prompt {n}", "prompt_type": "safety_neutral", "generator": "ext"}
               for n, (name, _) in enumerate(REFUSED)]
    records.append({"file": str(files.parent / "outside.mp4"), "prompt_text": "absolute path",
                    "prompt_type": "safety_neutral", "generator": "ext"})
    manifest = files / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))
    report = import_videos(manifest)
    refused = dict(report.refused)
    assert len(refused) == len(records) and report.imported == 0
    for n, (_, words) in enumerate(REFUSED, start=1):
        assert words in refused[f"line {n}"], refused[f"line {n}"]
    assert "outside the manifest's folder" in refused[f"line {len(records)}"]
    assert Prompt.objects.count() == 0 and Video.objects.count() == 0  # no prompt left without a video


def test_size_and_duration_limits(files, settings):
    make_generator("ext")
    manifest = files / "m.jsonl"
    manifest.write_text(json.dumps({"file": "good.mp4", "prompt_text": "p", "prompt_type": "safety_neutral",
                                    "generator": "ext"}) + "\n")
    settings.VIDEO_MAX_BYTES = 100
    assert "VIDEO_MAX_BYTES" in import_videos(manifest).refused[0][1]
    settings.VIDEO_MAX_BYTES = 10**9
    settings.VIDEO_MAX_SECONDS = 1  # the clip is 1.5 s
    assert "VIDEO_MAX_SECONDS" in import_videos(manifest).refused[0][1]
    settings.VIDEO_MAX_SECONDS = 600
    report = import_videos(manifest)
    assert (report.imported, report.prompts_created, report.refused) == (1, 1, [])
    assert Prompt.objects.count() == 1 and Video.objects.count() == 1


def test_a_configured_root_admits_absolute_paths_under_it(files, settings):
    make_generator("ext")
    elsewhere = files.parent / "manifests"
    elsewhere.mkdir()
    manifest = elsewhere / "m.jsonl"
    manifest.write_text(json.dumps({"file": str(files / "good.mp4"), "prompt_text": "p",
                                    "prompt_type": "safety_neutral", "generator": "ext"}) + "\n")
    assert "outside" in import_videos(manifest).refused[0][1]
    settings.VIDEO_IMPORT_ROOT = files
    assert import_videos(manifest).imported == 1


@pytest.fixture
def model():
    artifact = tiny_artifact()
    model = ModerationModel.objects.create(version=2, state=ModelState.READY, artifact_path=str(artifact),
                                           thresholds=Moderator.load(artifact).thresholds)
    model.activate()
    return model


@pytest.mark.parametrize(("name", "words"), REFUSED[:6])
def test_moderate_command_refuses_what_import_refuses(model, files, settings, name, words):
    settings.VIDEO_MAX_SIDE = 64
    with pytest.raises(CommandError, match=words):
        call_command("moderate", str(files / name), "--prompt", "a beach")


def test_moderate_command_refuses_an_empty_prompt(model, files):
    with pytest.raises(CommandError, match="--prompt must not be empty"):
        call_command("moderate", str(files / "good.mp4"), "--prompt", "  ")


def test_moderation_api_refuses_what_import_refuses(client, staff_user, model, files, settings):
    settings.VIDEO_MAX_SIDE = 64
    client.force_login(staff_user)
    for name, words in REFUSED[:6]:
        upload = SimpleUploadedFile(name, (files / name).read_bytes())
        response = client.post("/api/moderation/score", {"file": upload, "prompt": "a beach"})
        assert response.status_code == 400 and words in response.json()["detail"], (name, response.content)
    upload = SimpleUploadedFile("good.mp4", (files / "good.mp4").read_bytes())
    response = client.post("/api/moderation/score", {"file": upload, "prompt": " "})
    assert response.status_code == 400 and "prompt must not be empty" in response.json()["detail"]
    upload = SimpleUploadedFile("good.mp4", (files / "good.mp4").read_bytes())
    assert client.post("/api/moderation/score", {"file": upload, "prompt": "a beach"}).status_code == 200
