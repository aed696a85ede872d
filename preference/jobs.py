"""Training jobs as the platform runs them: a versioned PreferenceModel row around preference.train.

The command, the Celery task and the admin's train form call these functions.
"""

import logging
import shutil
from dataclasses import asdict
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from exports.models import ExportRun
from moderation.models import ModelState

from .data import DIMENSIONS, PairDataError, find_preference_folder
from .models import PreferenceModel
from .train import PreferenceConfig, train

logger = logging.getLogger(__name__)


class JobError(Exception):
    """The job cannot start: a bad source or dimension."""


def resolve_source(value: str | int) -> tuple[Path, ExportRun | None]:
    """An ExportRun id or a release folder -> (the release's preference folder, the export run if any)."""
    try:
        folder, export = ExportRun.release_source(value)
        return find_preference_folder(folder), export
    except (PairDataError, ValueError) as exc:
        raise JobError(str(exc)) from exc


def dimensions_of(value: str) -> list[str]:
    if value == "all":
        return list(DIMENSIONS)
    if value not in DIMENSIONS:
        raise JobError(f"unknown dimension {value!r}: use one of {', '.join(DIMENSIONS)} or all")
    return [value]


def create_models(source: str | int, dimension: str, config: PreferenceConfig, name: str = ""
                  ) -> list[PreferenceModel]:
    """One new version per dimension, in state `training`, bound to the snapshot. Nothing trained yet."""
    folder, export = resolve_source(source)
    dims = dimensions_of(dimension)
    configs = [PreferenceConfig.from_dict({**asdict(config), "dimension": d}) for d in dims]
    created = []
    with transaction.atomic():
        for dim, cfg in zip(dims, configs, strict=True):
            for _attempt in range(5):  # two jobs created at once race for the next version number
                version = (PreferenceModel.objects.filter(dimension=dim).aggregate(v=Max("version"))["v"] or 0) + 1
                try:
                    with transaction.atomic():
                        created.append(PreferenceModel.objects.create(
                            dimension=dim, version=version, kind=cfg.kind, export_run=export,
                            name=name or f"{cfg.model['backbone']}-{cfg.model['text']}-v{version}",
                            config={"train": asdict(cfg)}, snapshot_path=str(folder)))
                    break
                except IntegrityError:
                    continue
            else:
                raise JobError("could not allocate a version number")
    return created


def run_training(model: PreferenceModel, *, progress: bool = False, activate: bool = False) -> PreferenceModel:
    """Train `model` and store its results; marks it failed (and re-raises) on error."""
    config = PreferenceConfig.from_dict(model.config.get("train", {}))
    config.feature_cache = config.feature_cache or str(settings.FEATURE_CACHE_DIR)
    PreferenceModel.objects.filter(pk=model.pk).update(state=ModelState.TRAINING, error="", progress=0.0)
    history: list = []

    def on_progress(record: dict) -> None:
        # Preparing clips counts for the first 20%, epochs for the rest.
        if record["stage"] == "preparing":
            share = 0.2 * record["done"] / max(record["total"], 1)
        else:
            history.append({k: v for k, v in record.items() if k not in ("stage", "epochs")})
            share = 0.2 + 0.8 * record["epoch"] / record["epochs"]
        PreferenceModel.objects.filter(pk=model.pk).update(
            progress=round(min(share, 1.0), 4), metrics={"history": history})

    if model.run_dir.exists():  # a redelivered task starts the run again from the cached clips
        shutil.rmtree(model.run_dir)
    try:
        result = train(model.snapshot_path, model.run_dir, config, progress=progress, on_progress=on_progress,
                       name=f"v{model.version}")
    except Exception as exc:
        logger.exception("training %s failed", model)
        model.state, model.error = ModelState.FAILED, f"{type(exc).__name__}: {exc}"
        model.save(update_fields=["state", "error"])
        raise
    model.state, model.progress = ModelState.READY, 1.0
    model.metrics = {"test": result.metrics, "history": result.history,
                     **{k: v for k, v in result.info.items() if k not in ("history", "model_config", "train_config")}}
    model.artifact_path, model.report_path = str(result.artifact), str(result.report_dir)
    model.finished_at = timezone.now()
    model.save(update_fields=["state", "progress", "metrics", "artifact_path", "report_path", "finished_at"])
    if activate:
        model.activate()
    return model
