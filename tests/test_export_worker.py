"""An export queued from the platform runs on a real Celery worker (queue cpu) and reports its progress."""

import os

import pytest

from exports import runs
from exports.models import ExportState
from exports.options import ExportOptions
from exports.tasks import run_export
from tests.celery_worker import Worker, real_broker
from tests.synthetic import build_synthetic_project


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_queued_export_runs_on_the_cpu_worker(tmp_path):
    build_synthetic_project(0.005, users=3)
    worker = Worker("cpu", tmp_path / "worker.log", env={"EXPORTS_ROOT": str(tmp_path / "exports")})
    with real_broker():
        worker.start()
        try:
            run = runs.create_run(ExportOptions(name="by-worker", include_videos=False),
                                  target=tmp_path / "exports" / "by-worker")
            result = run_export.delay(run.pk)  # routed to the cpu queue by CELERY_TASK_ROUTES
            assert result.id  # sent to the broker, not run here

            def finished():
                run.refresh_from_db()
                return run.state in (ExportState.SUCCEEDED, ExportState.FAILED)
            worker.wait_for(finished, 180, "the export to finish")
        finally:
            worker.stop()
    assert run.state == ExportState.SUCCEEDED, run.error
    assert run.task_id.startswith("pid:") and not run.task_id.endswith(f":{os.getpid()}")  # a worker ran it
    assert run.progress_done == run.progress_total == 258
    assert (tmp_path / "exports" / "by-worker" / "manifest.json").is_file()
