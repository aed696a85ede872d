"""Celery tasks. Training runs on the `train` queue (settings.CELERY_TASK_ROUTES: moderation.tasks.train_*).

torch is imported inside the tasks, so that every worker that autodiscovers this module (the
generation workers too) does not pay for it at start.
"""

import logging

from celery import shared_task

from generation.models import Video

from .frames import UnreadableVideo
from .models import ModelState, ModerationModel

logger = logging.getLogger(__name__)


@shared_task(name="moderation.tasks.screen_video")
def screen_video(video_id: str) -> dict | None:
    """Screen a new video with the active model (listed in settings.VIDEO_CREATED_TASKS). No-op without one."""
    from .screening import screen_video as screen

    video = Video.objects.filter(pk=video_id).first()
    if video is None:
        logger.warning("screen_video: no video %s", video_id)
        return None
    try:
        prediction = screen(video)
    except UnreadableVideo as exc:
        logger.error("screen_video: %s", exc)
        return {"video": video_id, "error": str(exc)}
    if prediction is None:
        return None
    return {"video": video_id, "model_version": prediction.model.version, "flagged": prediction.flagged,
            "unsafe_probability": prediction.unsafe_probability}


@shared_task(name="moderation.tasks.train_model")
def train_model(model_id: int, activate: bool = False) -> dict | None:
    """Train a ModerationModel created by moderation.jobs.create_model.

    Redelivered after a worker died (acks_late), it continues from the last epoch's checkpoint.
    """
    from .jobs import run_training

    model = ModerationModel.objects.filter(pk=model_id).first()
    if model is None or model.state == ModelState.READY:
        return None
    try:
        model = run_training(model, progress=False, activate=activate)
    except Exception as exc:  # recorded on the model by run_training; the task itself is done
        return {"model_version": model.version, "error": str(exc)}
    return {"model_version": model.version, "summary": model.summary()}
