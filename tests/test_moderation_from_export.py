"""The training job reads a release made by the exports app (ExportRun id), with its real videos and labels."""

import pytest
from django.core.management import call_command

from exports.models import ExportState
from exports.options import ExportOptions
from exports.runs import create_run, execute
from moderation.models import ModelState, ModerationModel
from moderation.release import load_label_dataset
from tests.export_project import build_project

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_trains_from_an_export_run(tmp_path, settings):
    settings.MODERATION_DIR = tmp_path / "runs"
    build_project()
    run = execute(create_run(ExportOptions(name="for-moderation", seed=7, test_fraction=0.3),
                             target=tmp_path / "release").pk)
    assert run.state == ExportState.SUCCEEDED, run.error
    labels = load_label_dataset(run.output_path)  # finds safesora/label inside the release

    call_command("train_moderation", "--export", str(run.pk), "--epochs", "2", "--size", "32", "--threads", "1",
                 verbosity=0)

    model = ModerationModel.objects.get()
    assert model.state == ModelState.READY, model.error
    assert model.export_run == run and model.snapshot_path == str(labels.folder)
    data = model.metrics["data"]
    assert data["train"] + data["validation"] + data["test"] == len(labels.train) + len(labels.test)
    assert data["unreadable"] == 0
    assert model.metrics["test"]["samples"] == len(labels.test) > 0
