"""Real Celery workers: training queued from the admin runs on the `train` queue, screening on `cpu`."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse

from generation.models import Video
from moderation import tasks
from moderation.models import ModelState, ModerationModel, Prediction
from tests.factories import make_generator, make_prompt, make_video
from tests.moderation_helpers import clip_with, porn_only_release

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen, log: Path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        assert process.poll() is None, f"the worker exited while waiting for {what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")


def reset_connections(app) -> None:
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def broker():
    """This process sends to the real Redis (the settings run tasks in-process when no broker is set)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = tasks.train_model.app
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = REDIS_URL, False
    reset_connections(app)
    yield REDIS_URL
    reset_connections(app)
    app.conf.broker_url, app.conf.task_always_eager = saved


@pytest.fixture
def start_worker(broker, tmp_path, settings):
    """Starts one worker process for the `train` and `cpu` queues, sharing media and runs with this process."""
    settings.MEDIA_ROOT, settings.MODERATION_DIR = tmp_path / "media", tmp_path / "runs"
    log = tmp_path / "worker.log"
    started = []

    def start() -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": REDIS_URL,
               "MEDIA_ROOT": str(settings.MEDIA_ROOT), "MODERATION_DIR": str(settings.MODERATION_DIR),
               "OMP_NUM_THREADS": "1", "DJANGO_SETTINGS_MODULE": "safesora.settings"}
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", "train,cpu", "--concurrency", "1",
             "-n", f"moderation-test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        started.append(process)
        wait_for(lambda: "ready." in log.read_text(), 60, "the worker to start", process, log)
        return process

    yield start, log
    for process in started:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_training_from_the_admin_runs_on_the_train_queue_then_screens_new_videos(client, staff_user, start_worker,
                                                                                   tmp_path):
    start, log = start_worker
    client.force_login(staff_user)
    response = client.post(reverse("admin:moderation_moderationmodel_add"), {
        "folder": str(porn_only_release()), "epochs": 6, "frames": 8, "size": 32, "backbone": "small",
        "text": "hashed", "seed": 0, "activate": "on"})
    assert response.status_code == 302
    model = ModerationModel.objects.get()
    assert model.state == ModelState.TRAINING and model.snapshot_path == str(porn_only_release())
    queued = redis.Redis.from_url(REDIS_URL)
    assert (queued.llen("train"), queued.llen("cpu")) == (1, 0)  # the job waits on the train queue

    process = start()

    def ready():
        model.refresh_from_db()
        return model.state != ModelState.TRAINING
    wait_for(ready, 240, "training to finish", process, log)
    assert model.state == ModelState.READY, model.error
    assert model.is_active and model.config["train"]["model"]["size"] == 32
    assert len(model.metrics["history"]) >= 1 and model.summary()["unsafe_auroc"] is not None

    video = make_video(make_prompt("a video of a park"), make_generator())
    video.file.save("v.mp4", ContentFile(clip_with(tmp_path / "clip.mp4", ["porn"], seed=9).read_bytes()), save=True)
    tasks.screen_video.delay(video.id)  # as generation does for each new video
    wait_for(lambda: Prediction.objects.filter(video_id=video.id).exists(), 60, "the screening", process, log)
    assert Video.objects.get(pk=video.id).moderated_at is not None
