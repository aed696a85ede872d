"""Training jobs as the platform runs them: a versioned ModerationModel row around moderation.train.

The management command, the Celery task and the admin's "train" form all call these functions.
A job's files live in ModerationModel.run_dir; a job that was killed is continued by calling
run_training again on the same row (the Celery task does so when a worker dies and the task is
redelivered; `train_moderation --resume` does so by hand).
"""

import logging
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from exports.models import ExportRun

from .models import ModelState, ModerationModel
from .release import ReleaseError, find_label_folder
from .train import TrainConfig, train

logger = logging.getLogger(__name__)


class JobError(Exception):
    """The job cannot start: a bad source, nothing to resume..."""


def resolve_source(value: str | int) -> tuple[Path, ExportRun | None]:
    """An ExportRun id or a release folder path -> (label dataset folder, the export run if any)."""
    try:
        folder, export = ExportRun.release_source(value)
        return find_label_folder(folder), export
    except (ReleaseError, ValueError) as exc:
        raise JobError(str(exc)) from exc


def create_model(source: str | int, config: TrainConfig, name: str = "") -> ModerationModel:
    """A new version in state `training`, bound to its data snapshot. Nothing is trained yet."""
    folder, export = resolve_source(source)
    for _attempt in range(5):  # two jobs created at once race for the next version number
        version = (ModerationModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                return ModerationModel.objects.create(
                    version=version, name=name or f"{config.model['backbone']}-{config.model['text']}-v{version}",
                    config={"train": asdict(config)}, export_run=export, snapshot_path=str(folder))
        except IntegrityError:
            continue
    raise JobError("could not allocate a version number")


def find_resumable(source: str | int) -> ModerationModel:
    """The newest unfinished model trained from this snapshot."""
    folder, _export = resolve_source(source)
    unfinished = [ModelState.TRAINING, ModelState.FAILED]
    model = (ModerationModel.objects.filter(snapshot_path=str(folder), state__in=unfinished)
             .order_by("-version").first())
    if model is None:
        raise JobError(f"no unfinished training run from {folder} to resume")
    return model


def run_training(model: ModerationModel, *, progress: bool = True, activate: bool = False) -> ModerationModel:
    """Train (or continue training) `model` and store its results. Marks it failed on error."""
    config = TrainConfig.from_dict(model.config.get("train", {}))
    config.feature_cache = config.feature_cache or str(settings.FEATURE_CACHE_DIR)
    ModerationModel.objects.filter(pk=model.pk).update(state=ModelState.TRAINING, error="")

    def on_epoch(record: dict) -> None:
        history = [*(model.metrics or {}).get("history", []), record]
        model.metrics = {**(model.metrics or {}), "history": history}
        ModerationModel.objects.filter(pk=model.pk).update(metrics=model.metrics)

    try:
        # Always resumable: a run dir with a checkpoint is continued, an empty one starts afresh.
        result = train(model.snapshot_path, model.run_dir, config, resume=True, progress=progress, on_epoch=on_epoch,
                       name=f"v{model.version}")
    except Exception as exc:
        logger.exception("training moderation v%s failed", model.version)
        model.state, model.error = ModelState.FAILED, f"{type(exc).__name__}: {exc}"
        model.save(update_fields=["state", "error"])
        raise
    model.state = ModelState.READY
    model.metrics = {"test": result.metrics, "history": result.history,
                     **{k: v for k, v in result.info.items() if k not in ("history", "model_config", "train_config")}}
    model.thresholds = result.thresholds
    model.artifact_path, model.report_path = str(result.artifact), str(result.report_dir)
    model.finished_at = timezone.now()
    model.save(update_fields=["state", "metrics", "thresholds", "artifact_path", "report_path", "finished_at"])
    if activate:
        model.activate()
    return model
