"""Train a reward model (or, for harmlessness, a cost model) from a release's pair records.

    train(release_folder, run_dir, PreferenceConfig(dimension="helpfulness"))

The network is moderation's (moderation.network: the same pluggable visual backbone and text
encoder, temporal head and fusion MLP) with one output, a score per (prompt, video). Clips are
prepared once through the shared per-clip cache (moderation.features), so a video already prepared
for moderation or another dimension is not decoded or encoded again.

Losses follow PKU-Alignment's safe-rlhf trainers, which SafeSora's reward models use:
- reward model: -log sigmoid(r_chosen - r_rejected) + regularization * mean(r^2)
  (safe-rlhf's `--regularization`, a small L2 pull of the scores towards 0);
- cost model (harmlessness): -log sigmoid(c_less_safe - c_safer) - log sigmoid(sign * c) for both
  videos, sign = +1 for a video the crowd marked unsafe and -1 for a safe one, + the same
  regularization; so a single video's cost says "unsafe" by its sign.

Splits: the release's train pairs are split by prompt into train and validation (model selection,
early stopping); the release's test split (or, if it has none, prompts held out of train) is only
scored at the end. Django-free.
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
from torch.nn import functional as F

from moderation.features import ClipCache, prepare_clips
from moderation.network import ModerationNet, model_config

from . import report
from .data import DIMENSIONS, PairDataset, PairRecord, load_pairs

logger = logging.getLogger(__name__)

ARTIFACT_NAME = "model.pt"
ARTIFACT_FORMAT = 1
COST_DIMENSION = "harmlessness"


def kind_of(dimension: str) -> str:
    return "cost" if dimension == COST_DIMENSION else "reward"


@dataclass
class PreferenceConfig:
    dimension: str = "helpfulness"
    epochs: int = 20
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 1e-4
    regularization: float = 1e-3  # safe-rlhf's reward/cost trainer default in its scripts
    patience: int = 5
    val_fraction: float = 0.2
    seed: int = 0
    bootstrap: int = 1000
    threads: int | None = None
    workers: int = 0
    device: str = "cpu"
    feature_cache: str | None = None
    model: dict = field(default_factory=model_config)

    def __post_init__(self) -> None:
        if self.dimension not in DIMENSIONS:
            raise ValueError(f"unknown dimension {self.dimension!r}: use one of {', '.join(DIMENSIONS)} or all")
        if self.epochs < 1 or self.batch_size < 2 or self.patience < 1 or not 0 < self.val_fraction < 1:
            raise ValueError("epochs and patience must be >= 1, batch size >= 2, val fraction in (0, 1)")
        if self.regularization < 0:
            raise ValueError("regularization must be >= 0")
        self.model = model_config(**self.model)

    @property
    def kind(self) -> str:
        return kind_of(self.dimension)

    @classmethod
    def from_dict(cls, data: dict) -> "PreferenceConfig":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class PreferenceTrainingError(Exception):
    """Too little readable data to train, validate and test."""


@dataclass
class TrainResult:
    artifact: Path
    report_dir: Path
    metrics: dict
    history: list
    info: dict


def split_by_prompt(pairs: list[PairRecord], fraction: float, seed: int) -> tuple[list, list]:
    """Hold out whole prompts: no prompt is in both parts."""
    prompts = sorted({p.prompt_id for p in pairs})
    rng = np.random.default_rng(seed)
    rng.shuffle(prompts)
    held = set(prompts[: max(1, round(len(prompts) * fraction))])
    return [p for p in pairs if p.prompt_id not in held], [p for p in pairs if p.prompt_id in held]


def splits_of(dataset: PairDataset, config: PreferenceConfig) -> tuple[list, list, list, str]:
    train, val = split_by_prompt(dataset.train, config.val_fraction, config.seed)
    if dataset.test:
        return train, val, dataset.test, "the release's test split"
    train, test = split_by_prompt(train, config.val_fraction, config.seed + 1)
    return train, val, test, "prompts held out of the train split (no test split given)"


# --- inputs -------------------------------------------------------------------------------------

@dataclass
class Clips:
    """Prepared inputs of every distinct video, memory-mapped, with an index by video id."""

    data: np.ndarray
    index: dict[str, int]
    valid: np.ndarray
    errors: list[str]
    cache_hits: int


def gather_clips(net: ModerationNet, pairs: list[PairRecord], folder: Path, config: PreferenceConfig,
                 on_progress: Callable[[int, int], None] | None = None) -> Clips:
    paths: dict[str, Path] = {}
    for pair in pairs:
        for clip in pair.videos:
            paths.setdefault(clip.video_id, clip.path)
    ids = list(paths)
    folder.mkdir(parents=True, exist_ok=True)
    store, valid, errors = None, np.zeros(len(ids), dtype=bool), []
    cache = ClipCache(config.feature_cache)
    for i, prepared, error in prepare_clips(
            net.visual, [paths[v] for v in ids], frames=net.config["frames"], size=net.input_size, cache=cache,
            device=config.device, workers=config.workers,
            on_batch=(lambda done: on_progress(done, len(ids))) if on_progress else None):
        if prepared is None:
            errors.append(error)
            continue
        if store is None:
            store = np.lib.format.open_memmap(folder / "videos.npy", mode="w+", dtype=prepared.dtype,
                                              shape=(len(ids), *prepared.shape))
        store[i] = prepared
        valid[i] = True
    if store is None:
        raise PreferenceTrainingError(f"no readable video among {len(ids)}; first error: "
                                      f"{errors[0] if errors else 'none'}")
    store.flush()
    return Clips(np.load(folder / "videos.npy", mmap_mode="r"), {v: i for i, v in enumerate(ids)}, valid, errors,
                 cache.hits)


@dataclass
class PairSplit:
    pairs: list[PairRecord]  # readable pairs only
    v0: np.ndarray
    v1: np.ndarray
    prompt: np.ndarray
    y: np.ndarray  # 1: video_1 preferred on the dimension
    unsafe0: np.ndarray
    unsafe1: np.ndarray
    agreement: np.ndarray  # NaN when unknown


def build_split(pairs: list[PairRecord], clips: Clips, prompts: dict[str, int], dimension: str) -> PairSplit:
    readable = [p for p in pairs if all(clips.valid[clips.index[c.video_id]] for c in p.videos)]
    return PairSplit(
        pairs=readable,
        v0=np.array([clips.index[p.videos[0].video_id] for p in readable], dtype=np.int64),
        v1=np.array([clips.index[p.videos[1].video_id] for p in readable], dtype=np.int64),
        prompt=np.array([prompts[p.prompt_text] for p in readable], dtype=np.int64),
        y=np.array([p.choices[dimension] for p in readable], dtype=np.float32),
        unsafe0=np.array([not p.videos[0].is_safe for p in readable], dtype=np.float32),
        unsafe1=np.array([not p.videos[1].is_safe for p in readable], dtype=np.float32),
        agreement=np.array([p.agreement.get(dimension, np.nan) for p in readable], dtype=np.float64))


def _clip_batch(clips: Clips, rows: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(clips.data[rows]))


def raw_scores(net: ModerationNet, clips: Clips, text: torch.Tensor, split: PairSplit, idx: np.ndarray,
               device: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The network's outputs (reward, or cost) for both videos of the pairs idx: one forward pass."""
    video = torch.cat([_clip_batch(clips, split.v0[idx]), _clip_batch(clips, split.v1[idx])]).to(device)
    words = text[np.r_[split.prompt[idx], split.prompt[idx]]].to(device)
    out = net(video, words)[:, 0]
    return out[: len(idx)], out[len(idx):]


def pair_loss(s0: torch.Tensor, s1: torch.Tensor, y: torch.Tensor, unsafe0: torch.Tensor, unsafe1: torch.Tensor,
              kind: str, regularization: float) -> torch.Tensor:
    """safe-rlhf's reward (or cost) loss for pairs whose preferred video is video_y."""
    chosen, rejected = torch.where(y > 0.5, s1, s0), torch.where(y > 0.5, s0, s1)
    if kind == "reward":
        loss = -F.logsigmoid(chosen - rejected)
    else:  # the crowd's choice on harmlessness is the safer video: the lower cost
        sign0, sign1 = unsafe0 * 2 - 1, unsafe1 * 2 - 1
        loss = -F.logsigmoid(rejected - chosen) - F.logsigmoid(sign0 * s0) - F.logsigmoid(sign1 * s1)
    loss = loss.mean()
    if regularization > 0:
        loss = loss + regularization * torch.cat([s0, s1]).square().mean()
    return loss


@torch.no_grad()
def score_split(net: ModerationNet, clips: Clips, text: torch.Tensor, split: PairSplit, config: PreferenceConfig
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """Raw outputs for video_0 and video_1 of every pair, and the mean loss."""
    net.eval()
    out0, out1, losses = [], [], []
    for start in range(0, len(split.pairs), config.batch_size):
        idx = np.arange(start, min(start + config.batch_size, len(split.pairs)))
        s0, s1 = raw_scores(net, clips, text, split, idx, config.device)
        losses.append(float(pair_loss(s0, s1, *(torch.from_numpy(a[idx]).to(config.device)
                                                for a in (split.y, split.unsafe0, split.unsafe1)),
                                      config.kind, config.regularization)) * len(idx))
        out0.append(s0.float().cpu().numpy())
        out1.append(s1.float().cpu().numpy())
    if not out0:
        return np.zeros(0), np.zeros(0), float("nan")
    return np.concatenate(out0), np.concatenate(out1), sum(losses) / len(split.pairs)


def preference_margin(s0: np.ndarray, s1: np.ndarray, kind: str) -> np.ndarray:
    """How much more video_1 is preferred than video_0 (a cost counts against)."""
    return (s1 - s0) if kind == "reward" else (s0 - s1)


# --- training -----------------------------------------------------------------------------------

def seed_everything(seed: int, threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)


def train(release: str | Path, run_dir: str | Path, config: PreferenceConfig, *, progress: bool = False,
          on_progress: Callable[[dict], None] | None = None, name: str = "") -> TrainResult:
    threads = torch.get_num_threads()
    try:
        return _train(release, Path(run_dir), config, progress, on_progress, name)
    finally:
        torch.set_num_threads(threads)


def _train(release, run_dir: Path, config: PreferenceConfig, progress: bool, on_progress, name: str) -> TrainResult:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "train_config.json").write_text(json.dumps(asdict(config), indent=2))
    seed_everything(config.seed, config.threads)
    notify = on_progress or (lambda _record: None)
    dataset = load_pairs(release)
    train_pairs, val_pairs, test_pairs, test_source = splits_of(dataset, config)
    (run_dir / "splits.json").write_text(json.dumps({
        split: sorted({p.prompt_id for p in pairs})
        for split, pairs in (("train", train_pairs), ("validation", val_pairs), ("test", test_pairs))}))

    net = ModerationNet(config.model, 0).to(config.device)  # one output: the score
    clips = gather_clips(net, train_pairs + val_pairs + test_pairs, run_dir / "prepared", config,
                         lambda done, total: notify({"stage": "preparing", "done": done, "total": total}))
    texts = sorted({p.prompt_text for p in train_pairs + val_pairs + test_pairs})
    text = net.prepare_text(texts)
    prompts = {t: i for i, t in enumerate(texts)}
    train_split, val_split, test_split = (build_split(p, clips, prompts, config.dimension)
                                          for p in (train_pairs, val_pairs, test_pairs))
    if len(train_split.pairs) < 2 or not val_split.pairs or not test_split.pairs:
        raise PreferenceTrainingError(
            f"too few readable pairs: {len(train_split.pairs)} train, {len(val_split.pairs)} validation, "
            f"{len(test_split.pairs)} test")

    params = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
    history, best, bad_epochs = [], None, 0
    best_path = run_dir / "best.pt"
    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        train_loss = _train_epoch(net, clips, text, train_split, optimizer, config, epoch)
        scheduler.step()
        s0, s1, val_loss = score_split(net, clips, text, val_split, config)
        val_agreement = report.agreement(preference_margin(s0, s1, config.kind), val_split.y)
        seconds = time.perf_counter() - started
        record = {"epoch": epoch, "train_loss": round(train_loss, 5), "val_loss": round(val_loss, 5),
                  "val_agreement": round(val_agreement, 4), "seconds": round(seconds, 2),
                  "pairs_per_second": round(len(train_split.pairs) / seconds, 1)}
        history.append(record)
        # Selection on validation agreement (the reported metric); the loss breaks ties.
        if best is None or (val_agreement, -val_loss) > best:
            bad_epochs = 0 if best is None or val_agreement > best[0] else bad_epochs + 1
            best = (val_agreement, -val_loss)
            record["best"] = True
            torch.save({"model": net.trainable_state(), "epoch": epoch}, best_path)
        else:
            bad_epochs += 1
        line = f"epoch {epoch}/{config.epochs}: " + ", ".join(f"{k} {v}" for k, v in record.items() if k != "epoch")
        print(line) if progress else logger.info(line)
        notify({"stage": "training", **record, "epochs": config.epochs})
        if bad_epochs >= config.patience:
            break

    saved = torch.load(best_path, map_location=config.device, weights_only=False)
    net.load_trainable_state(saved["model"])
    s0, s1, _ = score_split(net, clips, text, test_split, config)
    rng = np.random.default_rng(config.seed)
    metrics = report.evaluate(test_split, s0, s1, config.kind, rng, config.bootstrap)
    info = {
        "name": name, "dimension": config.dimension, "kind": config.kind, "snapshot": str(dataset.folder),
        "seed": config.seed, "model_config": config.model, "train_config": asdict(config),
        "epochs_run": len(history), "best_epoch": saved["epoch"],
        "trainable_parameters": sum(p.numel() for p in params),
        "data": {"train_pairs": len(train_split.pairs), "validation_pairs": len(val_split.pairs),
                 "test_pairs": len(test_split.pairs), "test_source": test_source,
                 "prompts": {"train": len({p.prompt_id for p in train_pairs}),
                             "validation": len({p.prompt_id for p in val_pairs}),
                             "test": len({p.prompt_id for p in test_pairs})},
                 "videos": len(clips.index), "unreadable": len(clips.errors),
                 "unreadable_examples": clips.errors[:20], "feature_cache_hits": clips.cache_hits},
        "history": history,
    }
    report_dir = report.write_report(run_dir / "report", metrics, info)
    artifact = run_dir / ARTIFACT_NAME
    tmp = artifact.with_suffix(".tmp")
    torch.save({"format": ARTIFACT_FORMAT, "kind": config.kind, "dimension": config.dimension,
                "model_config": config.model, "state": net.trainable_state(), "info": info}, tmp)
    os.replace(tmp, artifact)
    return TrainResult(artifact=artifact, report_dir=report_dir, metrics=metrics, history=history, info=info)


def _train_epoch(net: ModerationNet, clips: Clips, text: torch.Tensor, split: PairSplit,
                 optimizer: torch.optim.Optimizer, config: PreferenceConfig, epoch: int) -> float:
    net.train()
    generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
    order = torch.randperm(len(split.pairs), generator=generator).numpy()
    total = 0.0
    for start in range(0, len(order), config.batch_size):
        idx = np.sort(order[start:start + config.batch_size])
        s0, s1 = raw_scores(net, clips, text, split, idx, config.device)
        loss = pair_loss(s0, s1, *(torch.from_numpy(a[idx]).to(config.device)
                                   for a in (split.y, split.unsafe0, split.unsafe1)), config.kind,
                         config.regularization)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(idx)
    return total / max(len(order), 1)
