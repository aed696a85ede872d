"""The per-clip feature cache both moderation and the preference models read (moderation.features)."""

import os

import numpy as np
import pytest

from moderation.features import ClipCache, prepare_clips
from moderation.network import ModerationNet, SmallConvNet, model_config
from moderation.release import load_label_dataset
from moderation.train import TrainConfig, prepare_split
from tests.moderation_helpers import TINY, clip_with, porn_only_release


def test_a_clip_is_prepared_once_and_again_when_its_file_changes(tmp_path):
    clips = [clip_with(tmp_path / f"c{i}.mp4", ["porn"] if i else [], seed=i) for i in range(3)]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    cache = ClipCache(tmp_path / "cache")
    visual = SmallConvNet(32, 8)

    first = {i: (v, e) for i, v, e in prepare_clips(visual, [*clips, broken], frames=8, size=32, cache=cache)}
    assert cache.hits == 0 and len(list((tmp_path / "cache").rglob("*.npy"))) == 3
    assert first[3][0] is None and "broken.mp4" in first[3][1]

    again = {i: v for i, v, _ in prepare_clips(visual, clips, frames=8, size=32, cache=cache)}
    assert cache.hits == 3
    for i in range(3):
        assert np.array_equal(again[i], first[i][0]) and again[i].shape == (8, 32, 32, 3)

    # Another frame count is another entry; an edited file is prepared again.
    list(prepare_clips(visual, clips[:1], frames=4, size=32, cache=cache))
    assert cache.hits == 3
    clip_with(clips[0], ["porn"], seed=99)
    os.utime(clips[0], ns=(1, 1))
    fresh = next(prepare_clips(visual, clips[:1], frames=8, size=32, cache=cache))[1]
    assert cache.hits == 3 and not np.array_equal(fresh, first[0][0])


def test_moderation_training_reads_clips_from_the_shared_cache(tmp_path):
    records = load_label_dataset(porn_only_release()).train[:20]
    config = TrainConfig(feature_cache=str(tmp_path / "cache"), model=model_config(**TINY))
    net = ModerationNet(config.model, 12)
    data, valid, errors = prepare_split(net, records, tmp_path / "run1", "train", config, progress=False)
    other, _, _ = prepare_split(net, records, tmp_path / "run2", "train", config, progress=False)
    assert valid.all() and not errors
    assert np.array_equal(np.asarray(data), np.asarray(other))
    meta = (tmp_path / "run2" / "train.json").read_text()
    assert '"cache_hits": 20' in meta


@pytest.mark.django_db
def test_screening_reads_and_fills_the_same_cache(settings, media_root, tmp_path):
    from moderation import screening
    from moderation.models import ModelState, ModerationModel
    from tests.factories import make_generator, make_prompt, make_video
    from tests.moderation_helpers import tiny_artifact

    screening._loaded.clear()  # a model loaded by another test would hold that test's cache folder
    model = ModerationModel.objects.create(version=1, state=ModelState.READY, artifact_path=str(tiny_artifact()),
                                           thresholds={})
    video = make_video(make_prompt(), make_generator())
    clip_with(media_root / video.file.name, ["porn"], seed=5)
    first = screening.score_video(video, model)
    assert len(list(settings.FEATURE_CACHE_DIR.rglob("*.npy"))) == 1
    again = screening.score_video(video, model)
    assert screening.moderator_for(model).cache.hits == 1 and again == first
    screening._loaded.clear()
