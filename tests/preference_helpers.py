"""Shared builders for the preference tests: planted-preference releases, built once per session."""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from tests.synthetic_preferences import write_preference_release

_ROOT = Path(tempfile.mkdtemp(prefix="preference-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

# One feature cache for the session: the same clips are prepared once for every model trained on them.
FEATURE_CACHE = _ROOT / "features"
TINY = ["--size", "32", "--frames", "8", "--width", "32", "--threads", "1", "--seed", "0"]
TEST_PAIRS = 240  # chance agreement then has a standard deviation of 0.032


@functools.cache
def planted_release() -> Path:
    """The crowd prefers the clip with a red disk (and finds the other one more harmless)."""
    return write_preference_release(_ROOT / "planted", train=120, test=TEST_PAIRS, seed=3)


@functools.cache
def shuffled_release() -> Path:
    """The same kind of clips; every pair's choices flipped at random (see tests.synthetic_preferences why test too)."""
    return write_preference_release(_ROOT / "shuffled", train=120, test=TEST_PAIRS, seed=3, shuffle_train=True,
                                    shuffle_test=True)


@functools.cache
def planted_artifact(dimension: str) -> Path:
    """A model of `dimension` trained (one epoch) on planted_release: it prefers the red disk (costs it)."""
    from preference.train import PreferenceConfig, train

    config = PreferenceConfig(dimension=dimension, epochs=1, threads=1, feature_cache=str(FEATURE_CACHE),
                              bootstrap=200, model={"size": 32, "width": 16})
    return train(planted_release(), _ROOT / f"run-{dimension}", config).artifact


def ready_model(dimension: str, version: int = 1, *, active: bool = False):
    """A READY PreferenceModel row around planted_artifact(dimension) and its real report."""
    import json

    from moderation.models import ModelState
    from preference.models import PreferenceModel
    from preference.train import kind_of

    artifact = planted_artifact(dimension)
    report = artifact.parent / "report"
    data = json.loads((report / "metrics.json").read_text())
    model = PreferenceModel.objects.create(
        dimension=dimension, version=version, kind=kind_of(dimension), state=ModelState.READY,
        artifact_path=str(artifact), report_path=str(report), snapshot_path=str(planted_release()),
        metrics={"test": data["metrics"], "history": data["info"]["history"]})
    if active:
        model.activate()
    return model


def video_with_clip(prompt, generator, *, disk: bool, seed: int, media_root: Path, **fields):
    """A Video row whose file is a real clip, with the planted red disk or without."""
    from tests.factories import make_video
    from tests.moderation_helpers import clip_with

    video = make_video(prompt, generator, seed=seed, **fields)
    clip_with(Path(media_root) / video.file.name, ["porn"] if disk else [], seed=seed)
    return video
