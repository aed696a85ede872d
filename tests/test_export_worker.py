"""An export queued from the platform runs on a real Celery worker (queue cpu) and reports its progress."""

import os
import subprocess
import sys
import time

import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection

from exports import runs
from exports.models import ExportState
from exports.options import ExportOptions
from tests.synthetic import build_synthetic_project


@pytest.fixture
def broker():
    """A Celery app configured like the platform's (routes included) but sending to the test Redis."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    redis.Redis.from_url(url).flushdb()
    sender = Celery("export-test-sender", set_as_current=False)
    sender.config_from_object("django.conf:settings", namespace="CELERY")
    sender.conf.update(broker_url=url, task_always_eager=False)
    yield sender
    sender.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_queued_export_runs_on_the_cpu_worker(broker, tmp_path):
    build_synthetic_project(0.005, users=3)
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker.conf.broker_url, "EXPORTS_ROOT": str(tmp_path / "exports"),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", "cpu", "--pool", "solo",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run = runs.create_run(ExportOptions(name="by-worker", include_videos=False),
                              target=tmp_path / "exports" / "by-worker")
        # Sent by name and routed by CELERY_TASK_ROUTES, as runs.enqueue does with a broker configured.
        assert broker.amqp.router.route({}, "exports.tasks.run_export")["queue"].name == "cpu"
        broker.send_task("exports.tasks.run_export", args=[run.pk])
        deadline = time.monotonic() + 180
        while True:
            run.refresh_from_db()
            if run.state in (ExportState.SUCCEEDED, ExportState.FAILED):
                break
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, f"still {run.state} after 3 minutes"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert run.state == ExportState.SUCCEEDED, run.error
    assert run.task_id.startswith("pid:") and str(worker.pid) in run.task_id  # the worker process ran it
    assert run.progress_done == run.progress_total == 258
    assert (tmp_path / "exports" / "by-worker" / "manifest.json").is_file()
