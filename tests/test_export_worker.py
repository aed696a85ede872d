"""An export queued from the platform runs on a real Celery worker (queue cpu) and reports its progress."""

import os
import subprocess
import sys
import time

import pytest
import redis
from django.conf import settings
from django.db import connection

from exports import runs
from exports.models import ExportState
from exports.options import ExportOptions
from safesora.celery import app
from tests.synthetic import build_synthetic_project


@pytest.fixture
def broker():
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    redis.Redis.from_url(url).flushdb()
    old = {"broker_url": app.conf.broker_url, "task_always_eager": app.conf.task_always_eager}
    app.conf.update(broker_url=url, task_always_eager=False)
    yield url
    app.conf.update(**old)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_queued_export_runs_on_the_cpu_worker(broker, tmp_path):
    build_synthetic_project(0.005, users=3)
    db = connection.settings_dict
    env = {**os.environ, "CELERY_BROKER_URL": broker, "EXPORTS_ROOT": str(tmp_path / "exports"),
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", "cpu", "--pool", "solo",
         "--without-heartbeat", "--without-mingle", "--without-gossip", "--loglevel", "WARNING"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        run = runs.create_run(ExportOptions(name="by-worker", include_videos=False),
                              target=tmp_path / "exports" / "by-worker")
        from exports.tasks import run_export

        result = run_export.apply_async(args=[run.pk])
        assert result.id  # sent to the broker, not run here
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
