"""Scores of stored videos by a PreferenceModel, computed once and kept (VideoScore rows).

Best-of-N, the leaderboard and uncertainty-driven pairing read scores through `scores_for`.
"""

import contextlib
import os
import threading
from collections.abc import Iterable

from django.conf import settings

from generation.models import Video

from .models import PreferenceModel, VideoScore

# torch is imported on first use (Scorer, the clip cache): the web process stays light until a
# leaderboard or pairing run needs scores.

_loaded: dict[int, tuple] = {}
_loading = threading.Lock()


class NoActiveModel(Exception):
    """A use of the preference models found none active for a dimension it needs."""


def scorer_for(model: PreferenceModel):
    """The loaded network of `model` (a preference.predict.Scorer), kept per process (reloaded if its
    artifact file changes)."""
    from moderation.features import ClipCache

    from .predict import Scorer

    path = model.artifact_path
    mtime = os.path.getmtime(path)
    with _loading:
        cached = _loaded.get(model.pk)
        if cached is None or cached[:2] != (path, mtime):
            _loaded[model.pk] = (path, mtime, Scorer.load(path, cache=ClipCache(settings.FEATURE_CACHE_DIR)))
        return _loaded[model.pk][2]


def active_model(dimension: str) -> PreferenceModel:
    model = PreferenceModel.active(dimension)
    if model is None:
        raise NoActiveModel(f"no active {dimension} model: train one (manage.py train_preference) and activate it "
                            "in the admin")
    return model


def scores_for(videos: Iterable[Video], model: PreferenceModel) -> dict[str, float]:
    """video id -> score by `model`; videos scored before are not scored again."""
    videos = list(videos)
    known = dict(VideoScore.objects.filter(model=model, video__in=[v.pk for v in videos])
                 .values_list("video_id", "score"))
    missing = [v for v in videos if v.pk not in known]
    if missing:
        from moderation.screening import is_local, local_video_file

        with contextlib.ExitStack() as stack:
            paths = [stack.enter_context(local_video_file(v)) for v in missing]
            values = scorer_for(model).score([(p, v.video_text) for p, v in zip(paths, missing, strict=True)],
                                             use_cache=all(is_local(v) for v in missing))
        VideoScore.objects.bulk_create([VideoScore(video=v, model=model, score=s)
                                        for v, s in zip(missing, values, strict=True)], ignore_conflicts=True)
        known.update({v.pk: s for v, s in zip(missing, values, strict=True)})
    return known
