"""Screening videos with the active model, and the one function that writes verdicts onto videos.

`record_prediction` is the only code that creates Prediction rows or sets Video.flagged,
Video.harm_scores and Video.moderated_at. Generation never imports this module: it calls the
Celery task names listed in settings.VIDEO_CREATED_TASKS (moderation.tasks.screen_video).
"""

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from generation.models import Video

from .features import ClipCache
from .models import ModerationModel, Prediction
from .predict import Moderator, Scores

logger = logging.getLogger(__name__)

_loaded: dict[int, tuple[str, float, Moderator]] = {}
_loading = threading.Lock()


def moderator_for(model: ModerationModel) -> Moderator:
    """The loaded network of `model`, kept per process (reloaded if its artifact file changes)."""
    path = model.artifact_path
    mtime = os.path.getmtime(path)
    with _loading:
        cached = _loaded.get(model.pk)
        if cached is None or cached[:2] != (path, mtime):
            _loaded.clear()  # one model in memory at a time: the active one
            _loaded[model.pk] = (path, mtime, Moderator.load(path, cache=ClipCache(settings.FEATURE_CACHE_DIR)))
        return _loaded[model.pk][2]


def is_local(video: Video) -> bool:
    """Whether the video's file has a path on this disk (not object storage): only those are cached per clip."""
    try:
        return bool(video.file.path)
    except NotImplementedError:
        return False


@contextlib.contextmanager
def local_video_file(video: Video) -> Iterator[Path]:
    """A path on local disk to the video's file: the file itself, or a temporary copy from object storage."""
    try:
        local = Path(video.file.path)
    except NotImplementedError:
        local = None  # remote storage (S3): no local path
    if local is not None:
        yield local
        return
    with tempfile.NamedTemporaryFile(suffix=".mp4") as tmp, video.file.open("rb") as src:
        shutil.copyfileobj(src, tmp)
        tmp.flush()
        yield Path(tmp.name)


def record_prediction(video: Video, model: ModerationModel, scores: Scores) -> Prediction:
    """Store `model`'s verdict on `video`: the Prediction row and the video's moderation fields.

    Screening a video again with the same model replaces that model's earlier prediction.
    """
    with transaction.atomic():
        prediction, _created = Prediction.objects.update_or_create(
            video=video, model=model,
            defaults={"scores": scores.categories, "unsafe_probability": scores.unsafe_probability,
                      "flagged": scores.flagged})
        video.flagged = scores.flagged
        video.harm_scores = {"model_version": model.version, "unsafe_probability": scores.unsafe_probability,
                             "categories": scores.categories, "flagged_categories": scores.flagged_categories}
        video.moderated_at = timezone.now()
        Video.objects.filter(pk=video.pk).update(flagged=video.flagged, harm_scores=video.harm_scores,
                                                 moderated_at=video.moderated_at)
    return prediction


def score_video(video: Video, model: ModerationModel, prompt: str | None = None) -> Scores:
    """Score a stored video (its generator's input text unless `prompt` is given). Raises UnreadableVideo."""
    with local_video_file(video) as path:
        return moderator_for(model).score(path, video.video_text if prompt is None else prompt,
                                          use_cache=is_local(video))


def screen_video(video: Video, model: ModerationModel | None = None) -> Prediction | None:
    """Score `video` with `model` (default: the active one) and record the verdict. None: no active model."""
    model = model or ModerationModel.active()
    if model is None:
        return None
    return record_prediction(video, model, score_video(video, model))
