"""A training job killed midway (SIGKILL, after its first checkpoint) resumes from the checkpoint and
finishes exactly as an uninterrupted run with the same seed would. A corrupt video is left out, not fatal."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from django.db import connection

from moderation.models import ModelState, ModerationModel
from moderation.release import load_label_dataset
from moderation.train import CHECKPOINT_NAME, TrainConfig, train
from tests.synthetic_clips import write_label_dataset

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
EPOCHS = 6


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def manage(*args: str, runs: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "MODERATION_DIR": str(runs), "OMP_NUM_THREADS": "1",
           "DJANGO_SETTINGS_MODULE": "safesora.settings"}
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def test_killed_job_resumes_from_its_checkpoint(tmp_path):
    folder = write_label_dataset(tmp_path / "release", train=96, test=32, seed=5, size=32)
    broken = load_label_dataset(folder).train[3].video_path
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing")  # a corrupt video among the good ones
    runs, log = tmp_path / "runs", tmp_path / "train.log"
    options = ["--export", str(folder), "--epochs", str(EPOCHS), "--patience", str(EPOCHS), "--size", "32",
               "--width", "32", "--batch-size", "16", "--threads", "1", "--seed", "3"]

    job = manage("train_moderation", *options, runs=runs, log=log)
    checkpoint = runs / "v1" / CHECKPOINT_NAME
    deadline = time.monotonic() + 180
    while not checkpoint.exists():
        assert job.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "no checkpoint within 3 minutes"
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait()

    killed_at = torch.load(checkpoint, weights_only=False)["state"]["epoch"]
    assert 1 <= killed_at < EPOCHS, "the job finished before it could be killed"
    model = ModerationModel.objects.get(version=1)
    assert model.state == ModelState.TRAINING and not model.artifact_path

    resumed = manage("train_moderation", "--export", str(folder), "--resume", runs=runs, log=log)
    assert resumed.wait(timeout=300) == 0, log.read_text()[-3000:]
    assert "resuming moderation v1" in log.read_text()

    model.refresh_from_db()
    assert model.state == ModelState.READY and Path(model.artifact_path).is_file()
    assert model.metrics["resumed_from"] == [killed_at]
    assert [h["epoch"] for h in model.metrics["history"]] == list(range(1, EPOCHS + 1))
    assert model.metrics["data"]["unreadable"] == 1
    assert str(broken) in model.metrics["data"]["unreadable_examples"][0]

    # Same seed, no interruption: the same thresholds and held-out metrics.
    straight = train(folder, tmp_path / "straight", TrainConfig.from_dict(model.config["train"]), progress=False)
    assert straight.thresholds == pytest.approx(model.thresholds)
    assert straight.metrics["macro"] == pytest.approx(model.metrics["test"]["macro"])
