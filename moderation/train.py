"""The training job: a SafeSora label dataset in, a model artifact and an evaluation report out.

    train(label_folder, run_dir, TrainConfig(...))

Steps, all inside `run_dir` so that a killed job resumes where it stopped:
1. split the release's train records into train and validation (by prompt, seeded);
2. prepare every clip once: sample its frames (and, for a frozen pretrained backbone, encode them)
   into a memory-mapped array (`prepared/`); unreadable videos are listed and left out;
3. train with binary cross-entropy weighted per class (pos_weight = negatives / positives) to
   fight the imbalance; after every epoch write `checkpoint.pt` (model, optimiser, scheduler, RNG,
   history) and keep the best epoch by validation macro average precision (threshold-free, and
   not skewed by the class weights as the loss is); stop early after `patience` epochs without
   improvement;
4. tune one threshold per output for F1 on the validation split, evaluate on the held-out split,
   write `model.pt` and `report/`.

Deterministic from the seed: the same data and config give the same weights, and a resumed run
continues exactly as the uninterrupted one would have.
"""

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from safesora.taxonomy import HARM_KEYS

from . import evaluate
from .features import ClipCache, prepare_clips
from .network import ModerationNet, model_config
from .release import LabelDataset, VideoRecord, load_label_dataset

logger = logging.getLogger(__name__)

OUTPUT_NAMES = [*HARM_KEYS, evaluate.UNSAFE]
ARTIFACT_NAME = "model.pt"
CHECKPOINT_NAME = "checkpoint.pt"
BEST_NAME = "best.pt"
ARTIFACT_FORMAT = 1


@dataclass
class TrainConfig:
    epochs: int = 15
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 5
    val_fraction: float = 0.2
    seed: int = 0
    threads: int | None = None  # torch CPU threads; None: torch's default
    workers: int = 0  # processes decoding videos while preparing
    device: str = "cpu"
    feature_cache: str | None = None  # folder of the shared per-clip cache (settings.FEATURE_CACHE_DIR); None: off
    model: dict = field(default_factory=model_config)

    def __post_init__(self) -> None:
        self.model = model_config(**self.model)  # fill in defaults, check values

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class TrainResult:
    artifact: Path
    report_dir: Path
    metrics: dict
    thresholds: dict
    history: list
    info: dict


class TrainingError(Exception):
    """The data cannot be trained on (too few readable videos, a bad release...)."""


EpochCallback = Callable[[dict], None]


def seed_everything(seed: int, threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def split_by_prompt(records: list[VideoRecord], fraction: float, seed: int) -> tuple[list, list]:
    """Hold out whole prompts, so no prompt is in both parts."""
    prompts = sorted({r.prompt_id for r in records})
    rng = np.random.default_rng(seed)
    rng.shuffle(prompts)
    held = set(prompts[: max(1, round(len(prompts) * fraction))])
    return [r for r in records if r.prompt_id not in held], [r for r in records if r.prompt_id in held]


def targets(records: list[VideoRecord]) -> np.ndarray:
    return np.array([[*r.labels, r.unsafe] for r in records], dtype=np.float32)


# --- preparing clips ----------------------------------------------------------------------------

def prepare_split(model: ModerationNet, records: list[VideoRecord], folder: Path, name: str,
                  config: TrainConfig, progress: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Gather every clip's prepared input (frames, or a frozen backbone's features) into folder/<name>.npy.

    Clips come from the shared per-clip cache (moderation.features) when another run or stage
    prepared them already. Returns the memory-mapped inputs, a mask of readable clips and the
    errors of the others. Reused as is when a previous run finished it.
    """
    data_path, meta_path = folder / f"{name}.npy", folder / f"{name}.json"
    if meta_path.exists() and data_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["count"] == len(records):
            return np.load(data_path, mmap_mode="r"), np.array(meta["valid"], dtype=bool), meta["errors"]
    folder.mkdir(parents=True, exist_ok=True)
    store, valid, errors = None, np.zeros(len(records), dtype=bool), []
    cache = ClipCache(config.feature_cache)
    with tqdm(total=len(records), desc=f"preparing {name}", unit="clip", disable=not progress) as bar:
        for i, prepared, error in prepare_clips(model.visual, [r.video_path for r in records],
                                                frames=model.config["frames"], size=model.input_size, cache=cache,
                                                device=config.device, workers=config.workers):
            bar.update(1)
            if prepared is None:
                errors.append(error)
                continue
            if store is None:
                store = np.lib.format.open_memmap(data_path, mode="w+", dtype=prepared.dtype,
                                                  shape=(len(records), *prepared.shape))
            store[i] = prepared
            valid[i] = True
    if store is None:
        raise TrainingError(f"no readable video among the {len(records)} {name} records; first error: "
                            f"{errors[0] if errors else 'none'}")
    store.flush()
    meta_path.write_text(json.dumps({"count": len(records), "valid": valid.tolist(), "errors": errors,
                                     "cache_hits": cache.hits}))
    for error in errors:
        logger.warning("left out: %s", error)
    return np.load(data_path, mmap_mode="r"), valid, errors


@dataclass
class Split:
    video: np.ndarray  # memory-mapped prepared inputs, readable rows only via `rows`
    text: torch.Tensor
    y: np.ndarray
    rows: np.ndarray  # indices of readable records

    def batch(self, idx: np.ndarray, device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        rows = self.rows[np.sort(idx)]
        video = torch.from_numpy(np.ascontiguousarray(self.video[rows]))
        return video.to(device), self.text[rows].to(device), torch.from_numpy(self.y[rows]).to(device)


def build_split(model: ModerationNet, records: list[VideoRecord], folder: Path, name: str, config: TrainConfig,
                progress: bool) -> tuple[Split, list[str]]:
    video, valid, errors = prepare_split(model, records, folder, name, config, progress)
    text = model.prepare_text([r.prompt_text for r in records])
    return Split(video=video, text=text, y=targets(records), rows=np.nonzero(valid)[0]), errors


# --- training -----------------------------------------------------------------------------------

@torch.no_grad()
def predict(model: ModerationNet, split: Split, batch_size: int, device: str) -> np.ndarray:
    """Probabilities (n_readable, outputs) in the order of split.rows."""
    model.eval()
    out = []
    for start in range(0, len(split.rows), batch_size):
        video, text, _ = split.batch(np.arange(start, min(start + batch_size, len(split.rows))), device)
        out.append(torch.sigmoid(model(video, text)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(OUTPUT_NAMES)), dtype=np.float32)


def pos_weights(y: np.ndarray) -> torch.Tensor:
    positives = y.sum(0)
    weights = np.where(positives > 0, (len(y) - positives) / np.maximum(positives, 1), 1.0)
    return torch.tensor(np.clip(weights, 1.0, 50.0), dtype=torch.float32)


def _save(obj: dict, path: Path) -> None:
    """Write atomically: a job killed while saving leaves the previous file intact."""
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def train(label_folder: str | Path, run_dir: str | Path, config: TrainConfig, *, resume: bool = False,
          progress: bool = True, on_epoch: EpochCallback | None = None, name: str = "") -> TrainResult:
    threads = torch.get_num_threads()
    try:
        return _train(label_folder, run_dir, config, resume=resume, progress=progress, on_epoch=on_epoch, name=name)
    finally:
        torch.set_num_threads(threads)  # a job run inside a longer-lived process leaves it as it was


def _train(label_folder, run_dir, config: TrainConfig, *, resume: bool, progress: bool,
           on_epoch: EpochCallback | None, name: str) -> TrainResult:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run_dir / CHECKPOINT_NAME
    if not resume and checkpoint_path.exists():
        raise TrainingError(f"{run_dir} already holds a training run; resume it or use another folder")
    (run_dir / "train_config.json").write_text(json.dumps(asdict(config), indent=2))
    seed_everything(config.seed, config.threads)
    device = config.device

    dataset = load_label_dataset(label_folder)
    train_records, val_records, test_records, test_source = _splits(dataset, config)
    model = ModerationNet(config.model, len(HARM_KEYS)).to(device)
    prepared = run_dir / "prepared"
    train_split, train_errors = build_split(model, train_records, prepared, "train", config, progress)
    val_split, val_errors = build_split(model, val_records, prepared, "validation", config, progress)
    test_split, test_errors = build_split(model, test_records, prepared, "test", config, progress)
    if len(train_split.rows) < 2 or len(val_split.rows) < 1:
        raise TrainingError("too few readable videos to train and validate")

    y_train = train_split.y[train_split.rows]
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weights(y_train).to(device))
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(config.epochs, 1))
    state = {"epoch": 0, "best_score": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}

    if resume and checkpoint_path.exists():
        checkpoint = torch.load(checkpoint_path, map_location=device, weights_only=False)
        model.load_trainable_state(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        torch.set_rng_state(checkpoint["rng"])
        if checkpoint.get("cuda_rng") and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
        state = checkpoint["state"]
        logger.info("resumed from epoch %d of %d", state["epoch"], config.epochs)
        state["resumed_from"] = state.get("resumed_from", []) + [state["epoch"]]

    stopped_early = state.get("stopped_early", False)
    while state["epoch"] < config.epochs and not stopped_early:
        epoch = state["epoch"] + 1
        started = time.perf_counter()
        train_loss = _train_epoch(model, train_split, loss_fn, optimizer, config, epoch, progress)
        scheduler.step()
        probs = predict(model, val_split, config.batch_size, device)
        y_val = val_split.y[val_split.rows]
        with torch.no_grad():
            val_loss = float(loss_fn(torch.logit(torch.from_numpy(probs).clamp(1e-6, 1 - 1e-6)).to(device),
                                     torch.from_numpy(y_val).to(device)))
        at_half = evaluate.compute_metrics(y_val, probs, dict.fromkeys(OUTPUT_NAMES, 0.5), list(HARM_KEYS))
        # Model selection on macro average precision: threshold-free, and unlike the (weighted) loss
        # not swung by a few confident mistakes on a small validation split.
        score = at_half["macro"]["average_precision"] or 0.0
        record = {"epoch": epoch, "train_loss": round(train_loss, 5), "val_loss": round(val_loss, 5),
                  "val_macro_ap": _round(score), "val_macro_auroc": _round(at_half["macro"]["auroc"]),
                  "val_macro_f1_at_0.5": _round(at_half["macro"]["f1"]),
                  "val_unsafe_auroc": _round(at_half[evaluate.UNSAFE]["auroc"]),
                  "seconds": round(time.perf_counter() - started, 2),
                  "clips_per_second": round(len(train_split.rows) / (time.perf_counter() - started), 1)}
        state["history"].append(record)
        state["epoch"] = epoch
        # A tie keeps the later (longer trained) weights but does not count as progress.
        if score >= state["best_score"]:
            state["bad_epochs"] = 0 if score > state["best_score"] else state["bad_epochs"] + 1
            state.update(best_score=score, best_epoch=epoch)
            _save({"model": model.trainable_state()}, run_dir / BEST_NAME)
        else:
            state["bad_epochs"] += 1
        stopped_early = state["stopped_early"] = state["bad_epochs"] >= config.patience
        cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        _save({"model": model.trainable_state(), "optimizer": optimizer.state_dict(),
               "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(), "cuda_rng": cuda_rng,
               "state": state}, checkpoint_path)
        line = f"epoch {epoch}/{config.epochs}: " + ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch")
        if progress:
            tqdm.write(line)
        else:
            logger.info(line)
        if on_epoch:
            on_epoch({**record, "epochs": config.epochs, "best_epoch": state["best_epoch"]})

    best = torch.load(run_dir / BEST_NAME, map_location=device, weights_only=False)
    model.load_trainable_state(best["model"])
    val_probs = predict(model, val_split, config.batch_size, device)
    thresholds = evaluate.tune_thresholds(val_split.y[val_split.rows], val_probs, OUTPUT_NAMES)
    test_probs = predict(model, test_split, config.batch_size, device)
    y_test = test_split.y[test_split.rows]
    metrics = evaluate.compute_metrics(y_test, test_probs, thresholds, list(HARM_KEYS))
    info = {
        "name": name, "snapshot": str(dataset.folder), "seed": config.seed, "model_config": config.model,
        "train_config": asdict(config), "epochs_run": state["epoch"], "best_epoch": state["best_epoch"],
        "stopped_early": stopped_early, "resumed_from": state.get("resumed_from", []),
        "trainable_parameters": sum(p.numel() for p in params),
        "data": {"train": len(train_split.rows), "validation": len(val_split.rows), "test": len(test_split.rows),
                 "test_source": test_source, "unreadable": len(train_errors) + len(val_errors) + len(test_errors),
                 "unreadable_examples": (train_errors + val_errors + test_errors)[:20],
                 "unsafe_share": float(y_train[:, -1].mean()),
                 "train_positives": {k: int(y_train[:, i].sum()) for i, k in enumerate(HARM_KEYS)}},
        "history": state["history"],
    }
    report_dir = evaluate.write_report(run_dir / "report", y_test, test_probs, metrics, list(HARM_KEYS), info)
    artifact = run_dir / ARTIFACT_NAME
    _save({"format": ARTIFACT_FORMAT, "model_config": config.model, "harm_keys": list(HARM_KEYS),
           "thresholds": thresholds, "state": model.trainable_state(), "info": info}, artifact)
    return TrainResult(artifact=artifact, report_dir=report_dir, metrics=metrics, thresholds=thresholds,
                       history=state["history"], info=info)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _splits(dataset: LabelDataset, config: TrainConfig):
    train_records, val_records = split_by_prompt(dataset.train, config.val_fraction, config.seed)
    if dataset.test:
        return train_records, val_records, dataset.test, "the release's test split"
    # No test split in the release: hold out prompts for it as well.
    train_records, test_records = split_by_prompt(train_records, config.val_fraction, config.seed + 1)
    return train_records, val_records, test_records, "prompts held out of the train split (no test split given)"


def _train_epoch(model: ModerationNet, split: Split, loss_fn: nn.Module, optimizer: torch.optim.Optimizer,
                 config: TrainConfig, epoch: int, progress: bool) -> float:
    model.train()
    # The order depends on the seed and the epoch only, so a resumed run sees the same batches.
    generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
    order = torch.randperm(len(split.rows), generator=generator).numpy()
    total, count = 0.0, 0
    batches = range(0, len(order), config.batch_size)
    for start in tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False, disable=not progress):
        idx = order[start:start + config.batch_size]
        if len(idx) < 2 and len(order) > 1:
            continue  # a batch of one breaks batch norm
        video, text, y = split.batch(idx, config.device)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(video, text), y)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(idx)
        count += len(idx)
    return total / max(count, 1)
