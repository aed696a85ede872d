"""Real Celery workers: training queued from the admin runs on the `train` queue, screening on `cpu`."""

import pytest
import redis
from django.core.files.base import ContentFile
from django.urls import reverse

from generation.models import Video
from moderation import tasks
from moderation.models import ModelState, ModerationModel, Prediction
from tests.celery_worker import REDIS_URL, Worker, real_broker
from tests.factories import make_generator, make_prompt, make_video
from tests.moderation_helpers import clip_with, porn_only_release

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def start_worker(tmp_path, settings):
    """Starts (on demand) a worker for the `train` and `cpu` queues, sharing media and runs with this process."""
    settings.MEDIA_ROOT, settings.MODERATION_DIR = tmp_path / "media", tmp_path / "runs"
    worker = Worker("train,cpu", tmp_path / "worker.log", env={
        "MEDIA_ROOT": str(settings.MEDIA_ROOT), "MODERATION_DIR": str(settings.MODERATION_DIR)})
    with real_broker():
        yield worker.start
        worker.stop()


def test_training_from_the_admin_runs_on_the_train_queue_then_screens_new_videos(client, staff_user, start_worker,
                                                                                   tmp_path):
    client.force_login(staff_user)
    response = client.post(reverse("admin:moderation_moderationmodel_add"), {
        "folder": str(porn_only_release()), "epochs": 6, "frames": 8, "size": 32, "backbone": "small",
        "text": "hashed", "seed": 0, "activate": "on"})
    assert response.status_code == 302
    model = ModerationModel.objects.get()
    assert model.state == ModelState.TRAINING and model.snapshot_path == str(porn_only_release())
    queued = redis.Redis.from_url(REDIS_URL)
    assert (queued.llen("train"), queued.llen("cpu")) == (1, 0)  # the job waits on the train queue

    worker = start_worker()

    def ready():
        model.refresh_from_db()
        return model.state != ModelState.TRAINING
    worker.wait_for(ready, 240, "training to finish")
    assert model.state == ModelState.READY, model.error
    assert model.is_active and model.config["train"]["model"]["size"] == 32
    assert len(model.metrics["history"]) >= 1 and model.summary()["unsafe_auroc"] is not None

    video = make_video(make_prompt("a video of a park"), make_generator())
    video.file.save("v.mp4", ContentFile(clip_with(tmp_path / "clip.mp4", ["porn"], seed=9).read_bytes()), save=True)
    tasks.screen_video.delay(video.id)  # as generation does for each new video
    worker.wait_for(lambda: Prediction.objects.filter(video_id=video.id).exists(), 60, "the screening")
    assert Video.objects.get(pk=video.id).moderated_at is not None
