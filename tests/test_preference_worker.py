"""A real Celery worker: reward-model training queued from the admin runs on the `cpu` queue, with progress."""

import pytest
import redis
from django.urls import reverse

from moderation.models import ModelState
from preference.models import PreferenceModel
from tests.celery_worker import REDIS_URL, Worker, real_broker
from tests.preference_helpers import FEATURE_CACHE, planted_release

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_training_from_the_admin_runs_on_the_cpu_queue(client, staff_user, tmp_path, settings):
    settings.PREFERENCE_DIR = tmp_path / "runs"
    client.force_login(staff_user)
    with real_broker():
        response = client.post(reverse("admin:preference_preferencemodel_add"), {
            "folder": str(planted_release()), "dimension": "helpfulness", "epochs": 1, "frames": 8, "size": 32,
            "backbone": "small", "text": "hashed", "seed": 0, "activate": "on"})
        assert response.status_code == 302
        model = PreferenceModel.objects.get()
        assert model.state == ModelState.TRAINING and model.progress == 0
        assert redis.Redis.from_url(REDIS_URL).llen("cpu") == 1  # the job waits on the cpu queue

        worker = Worker("cpu", tmp_path / "worker.log", env={
            "PREFERENCE_DIR": str(settings.PREFERENCE_DIR), "FEATURE_CACHE_DIR": str(FEATURE_CACHE)})
        worker.start()
        try:
            def done():
                model.refresh_from_db()
                return model.state != ModelState.TRAINING
            worker.wait_for(done, 300, "training to finish")
        finally:
            worker.stop()
    assert model.state == ModelState.READY, model.error
    assert model.is_active and model.progress == 1.0 and len(model.metrics["history"]) == 1
    assert model.summary()["agreement"] is not None
    assert (settings.PREFERENCE_DIR / "helpfulness" / "v1" / "report" / "model_card.md").is_file()
