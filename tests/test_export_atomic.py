"""An export that fails, is cancelled or is killed leaves no release, no half-written folder, and says why."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from exports import runs
from exports.models import ExportRun, ExportState
from exports.options import ExportOptions
from tests.factories import make_annotation, make_campaign, make_pair
from tests.synthetic import build_synthetic_project


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.django_db
def test_cancel_between_batches_writes_nothing(tmp_path):
    build_synthetic_project(0.003, users=3)  # 44 prompts
    options = ExportOptions(name="cancelled", include_videos=False, prompts_per_batch=4)
    run = runs.create_run(options, target=tmp_path / "out" / "cancelled")

    def cancel_after_first_batch(done, total, message):
        if done:
            runs.cancel(run)

    run = runs.execute(run.pk, progress=cancel_after_first_batch)
    assert run.state == ExportState.CANCELLED
    assert run.error == "cancelled by an administrator" and run.finished_at
    assert 0 < run.progress_done < run.progress_total
    assert leftovers(tmp_path / "out") == []


@pytest.mark.django_db
def test_a_failure_is_recorded_and_nothing_is_left(tmp_path):
    pair = make_pair(make_campaign(overlap=1))  # its videos are rows without files
    make_annotation(pair)
    run = runs.create_run(ExportOptions(name="broken"), target=tmp_path / "out" / "broken")
    run = runs.execute(run.pk)
    assert run.state == ExportState.FAILED
    assert run.error.startswith("VideoMissing: video file videos/") and "is missing" in run.error
    assert leftovers(tmp_path / "out") == []
    # The same export without video bytes works, into the same place.
    run = runs.execute(runs.create_run(ExportOptions(name="broken", include_videos=False),
                                       target=tmp_path / "out" / "broken").pk)
    assert run.state == ExportState.SUCCEEDED and leftovers(tmp_path / "out") == ["broken"]


@pytest.mark.django_db(transaction=True)
def test_a_killed_export_process_publishes_nothing_and_is_noticed(tmp_path):
    build_synthetic_project(0.02, users=3)  # 294 prompts, 1,034 pairs
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    target = tmp_path / "out" / "killed"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "export", "--name", "killed", "--output", str(target), "--no-videos",
         "--batch-prompts", "1", "--no-progress"], cwd=settings.BASE_DIR, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ExportRun.objects.filter(name="killed", progress_done__gt=0).exists():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the export never started"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    run = ExportRun.objects.get(name="killed")
    assert run.state == ExportState.RUNNING and run.progress_done < run.progress_total
    assert not target.exists()  # nothing was published
    assert [name.startswith(".killed.partial-") for name in leftovers(target.parent)] == [True]

    # Running the same export again notices the dead run instead of refusing the name.
    again = subprocess.run(
        [sys.executable, "manage.py", "export", "--name", "killed", "--output", str(target), "--no-videos",
         "--no-progress"], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    run.refresh_from_db()
    assert run.state == ExportState.FAILED and "stopped before finishing" in run.error
    assert ExportRun.objects.filter(name="killed", state=ExportState.SUCCEEDED).count() == 1
    assert leftovers(target.parent) == ["killed"]
    assert runs.fail_dead_runs() == 0


@pytest.mark.django_db
def test_a_silent_run_of_another_machine_is_failed_and_only_its_partial_folder_removed(tmp_path, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.EXPORT_DEAD_AFTER_SECONDS = 60
    out = tmp_path / "out"
    out.mkdir()
    for name, pid, silent_for in (("far", 4242, 300), ("near", 4243, 5)):
        run = runs.create_run(ExportOptions(name=name), target=out / name)
        ExportRun.objects.filter(pk=run.pk).update(state=ExportState.RUNNING, task_id=f"pid:other-host:{pid}",
                                                   heartbeat_at=timezone.now() - timedelta(seconds=silent_for))
        (out / f".{name}.partial-other_host-{pid}-0123abcd").mkdir()
    assert runs.fail_dead_runs() == 1
    far, near = ExportRun.objects.get(name="far"), ExportRun.objects.get(name="near")
    assert far.state == ExportState.FAILED and "gave no sign of life" in far.error and "other-host" in far.error
    assert near.state == ExportState.RUNNING  # still beating: its machine is working on it
    assert leftovers(out) == [".near.partial-other_host-4243-0123abcd"]
    assert runs.name_in_use("far", out / "far") is None
    assert "already queued or running" in runs.name_in_use("near", out / "near")


@pytest.mark.django_db(transaction=True)
def test_a_running_export_keeps_beating(tmp_path, settings):
    settings.EXPORT_HEARTBEAT_SECONDS = 0.2
    build_synthetic_project(0.003, users=3)
    run = runs.create_run(ExportOptions(name="beating", include_videos=False, prompts_per_batch=4),
                          target=tmp_path / "out" / "beating")
    seen = []

    def slow_first_batch(done, total, message):
        if done and not seen:
            first = ExportRun.objects.get(pk=run.pk).heartbeat_at
            time.sleep(1)
            seen.append((first, ExportRun.objects.get(pk=run.pk).heartbeat_at))

    run = runs.execute(run.pk, progress=slow_first_batch)
    assert run.state == ExportState.SUCCEEDED
    (before, after), = seen
    assert before is not None and after > before
