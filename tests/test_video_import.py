"""Importing videos made elsewhere: manifests, SafeSora release folders, bad records refused alone."""

import gzip
import json
from fractions import Fraction

import av
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from generation.encoding import encode_mp4, probe
from generation.models import Prompt, Video
from generation.video_import import import_videos
from tests.factories import make_generator, make_prompt, moving_square_frames

pytestmark = pytest.mark.django_db


def write_mpeg4_avi(path, frames, fps=10):
    """What OpenCV-style tools write: MPEG-4 part 2, which Chromium does not play."""
    with av.open(str(path), "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decodes_as_browser_video(path):
    with av.open(str(path)) as container:
        codec = container.streams.video[0].codec_context
        return codec.name == "h264" and codec.pix_fmt == "yuv420p"


@pytest.fixture
def clips(tmp_path):
    folder = tmp_path / "incoming"
    (folder / "clips").mkdir(parents=True)
    encode_mp4(moving_square_frames(12, seed=1), 8, folder / "clips" / "ready.mp4")
    write_mpeg4_avi(folder / "clips" / "old.avi", moving_square_frames(10, seed=2))
    (folder / "clips" / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    (folder / "clips" / "notes.txt").write_text("not a video")
    return folder


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_good_records_import_and_bad_ones_are_refused_alone(clips, media_root):
    make_generator("pika")
    make_generator("sora-api")
    known = make_prompt("a dog surfing a wave")
    manifest = write_jsonl(clips / "manifest.jsonl", [
        {"file": "clips/ready.mp4", "prompt_id": known.id, "generator": "pika", "seed": 3},
        {"file": "clips/old.avi", "prompt_text": "A new prompt about a kite", "prompt_type": "safety_neutral",
         "generator": "sora-api", "video_text": "a refined prompt about a kite"},
        {"file": "clips/missing.mp4", "prompt_id": known.id, "generator": "pika"},
        {"file": "clips/corrupt.mp4", "prompt_id": known.id, "generator": "pika"},
        {"file": "clips/notes.txt", "prompt_id": known.id, "generator": "sora-api"},
        {"file": "clips/ready.mp4", "prompt_id": known.id, "generator": "no-such-model"},
    ])
    report = import_videos(manifest)
    assert (report.imported, report.reencoded, len(report.refused)) == (2, 1, 4)
    refused = dict(report.refused)
    assert "file not found: clips/missing.mp4" in refused["line 3"]
    assert "clips/corrupt.mp4 is refused: not a readable video" in refused["line 4"]
    assert "clips/notes.txt is refused: not a readable video" in refused["line 5"]
    assert "unknown generator 'no-such-model'" in refused["line 6"] and "pika" in refused["line 6"]

    ready = Video.objects.get(generator__name="pika")
    assert (ready.origin, ready.seed, ready.num_frames, ready.fps) == ("imported", 3, 12, 8.0)
    assert ready.prompt == known and ready.video_text == known.text
    old = Video.objects.get(generator__name="sora-api")
    assert old.video_text == "a refined prompt about a kite"
    assert Prompt.objects.get(text="A new prompt about a kite").source == "manifest.jsonl"
    for video in (ready, old):
        path = media_root / video.file.name
        assert decodes_as_browser_video(path)
        assert probe(path).sha256 == video.sha256
        assert (media_root / video.poster.name).read_bytes()[:3] == b"\xff\xd8\xff"
    assert probe(media_root / old.file.name).num_frames == 10

    again = import_videos(manifest)  # idempotent: nothing new, the same refusals
    assert (again.imported, again.existing, len(again.refused)) == (0, 2, 4)
    assert Video.objects.count() == 2


def test_csv_manifest_and_a_new_prompt_needs_a_type(clips):
    make_generator("pika")
    (clips / "manifest.csv").write_text(
        "file,prompt_text,generator\n"
        "clips/ready.mp4,A cat on a piano,pika\n")
    report = import_videos(clips / "manifest.csv")
    assert "field 'prompt_type'" in report.refused[0][1] and "--default-type" in report.refused[0][1]
    report = import_videos(clips / "manifest.csv", default_type="safety_critical")
    assert report.imported == 1
    assert Prompt.objects.get(text="A cat on a piano").prompt_type == "safety_critical"


def test_safesora_release_folder_imports_as_is(clips, tmp_path):
    release = tmp_path / "release"
    make_generator("VideoCrafter2")
    make_generator("Pika")
    prompt_id, v0, v1 = "a" * 64, "b" * 64, "c" * 64
    for vid in (v0, v1):
        (release / "videos" / prompt_id).mkdir(parents=True, exist_ok=True)
        encode_mp4(moving_square_frames(8), 8, release / "videos" / prompt_id / f"{vid}.mp4")
    labels = dict.fromkeys(["porn", "animal_abuse", "child_abuse", "crime", "controversial", "contraband", "hate",
                            "violence", "racism", "other_discrimination", "terrorism", "other_harmful"], False)

    def record(vid, generator):
        return {"prompt_id": prompt_id, "prompt_text": "Fireworks over a harbour", "prompt_type": "safety_neutral",
                "prompt_labels": labels, "video_id": vid, "video_text": "Fireworks over a harbour, 4k",
                "video_path": f"videos/{prompt_id}/{vid}.mp4", "is_safe": True, "video_labels": labels,
                "generated_from": generator}

    with gzip.open(release / "config-train.json.gz", "wt") as fh:
        json.dump([record(v0, "VideoCrafter2")], fh)
    with gzip.open(release / "config-test.json.gz", "wt") as fh:  # a pair record holds two videos
        json.dump([{"pair_id": "d" * 64, "prompt_id": prompt_id, "video_0": record(v0, "VideoCrafter2"),
                    "video_1": record(v1, "Pika")}], fh)
    report = import_videos(release)
    assert (report.imported, report.refused, report.prompts_created) == (2, [], 1)
    assert set(Video.objects.values_list("id", flat=True)) == {v0, v1}
    assert Prompt.objects.get().id == prompt_id  # the release's own ids are kept
    assert Video.objects.get(id=v1).generator.name == "Pika"


def test_command_lists_refusals_and_exits_with_an_error(clips, capsys):
    make_generator("pika")
    prompt = make_prompt()
    manifest = write_jsonl(clips / "m.jsonl", [
        {"file": "clips/ready.mp4", "prompt_id": prompt.id, "generator": "pika"},
        {"file": "clips/corrupt.mp4", "prompt_id": prompt.id, "generator": "pika"},
    ])
    with pytest.raises(CommandError, match="1 of 2 records refused"):
        call_command("import_videos", str(manifest), verbosity=0)
    captured = capsys.readouterr()
    assert "refused line 2: clips/corrupt.mp4 is refused: not a readable video" in captured.err
    assert Video.objects.count() == 1
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_videos", str(clips / "nope.jsonl"), verbosity=0)
