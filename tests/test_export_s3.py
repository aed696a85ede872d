"""With media on S3-compatible storage, an export streams the videos down into the release."""

import os

import av
import pytest

from exports.options import ExportOptions
from exports.release import build_release
from tests.factories import make_annotation, make_campaign, make_generator, make_pair, make_prompt, make_video
from tests.s3 import use_s3_media


@pytest.fixture
def s3_media(s3_endpoint, settings):
    use_s3_media(settings, s3_endpoint, "export-media")
    return s3_endpoint


@pytest.mark.django_db
def test_videos_are_streamed_from_the_bucket(s3_media, tmp_path, media_root):
    prompt = make_prompt()
    videos = [make_video(prompt, make_generator(), real=True, seed=i) for i in range(2)]
    pair = make_pair(make_campaign(overlap=1), prompt=prompt, video_0=videos[0], video_1=videos[1])
    make_annotation(pair, default="video_1")
    assert not media_root.exists()  # the videos live in the bucket only

    root = tmp_path / "release"
    build_release(ExportOptions(name="from-s3", test_fraction=0), root)
    for video in videos:
        with video.file.open("rb") as fh:
            stored = fh.read()
        copies = [root / folder / "videos" / prompt.id / f"{video.id}.mp4"
                  for folder in ("safesora/preference", "safesora/label", "hf")]
        for copy in copies:
            assert copy.read_bytes() == stored
        assert os.stat(copies[0]).st_nlink == 3  # downloaded once, linked into the other folders
        with av.open(str(copies[0])) as container:
            assert sum(1 for _ in container.decode(video=0)) == 16
