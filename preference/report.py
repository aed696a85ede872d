"""Evaluation of a reward or cost model on held-out pairs, and its report (figures, model card).

The paper's metric is agreement: the share of pairs where the model prefers the video the crowd's
majority preferred. Confidence intervals are percentile bootstraps over pairs (seeded). Margins
are "how much more video_1 is preferred" (reward difference, or cost difference reversed); the
model's P(video_1 preferred) is the logistic of the margin, as in the Bradley-Terry model.
"""

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

REPORT_FILES = {"metrics": "metrics.json", "card": "model_card.md", "calibration": "calibration.png",
                "generators": "scores_by_generator.png"}
REPORT_IMAGES = (REPORT_FILES["calibration"], REPORT_FILES["generators"])
BINS = 10


def hits(margin: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 where the model agrees with the crowd, 0.5 on an exact tie, 0 otherwise."""
    margin, y = np.asarray(margin, dtype=np.float64), np.asarray(y)
    return np.where(margin == 0, 0.5, ((margin > 0) == (y > 0.5)).astype(np.float64))


def agreement(margin: np.ndarray, y: np.ndarray) -> float:
    return float(hits(margin, y).mean()) if len(y) else float("nan")


def bootstrap_ci(values: np.ndarray, rng: np.random.Generator, resamples: int, level: float = 0.95
                 ) -> tuple[float | None, float | None]:
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0 or resamples < 1:
        return None, None
    means = values[rng.integers(0, len(values), size=(resamples, len(values)))].mean(1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def _summary(h: np.ndarray, rng, resamples: int) -> dict:
    low, high = bootstrap_ci(h, rng, resamples)
    return {"pairs": int(len(h)), "agreement": float(h.mean()) if len(h) else None, "ci_low": low, "ci_high": high}


def calibration(margin: np.ndarray, y: np.ndarray) -> dict:
    """Predicted P(video_0 preferred) (the left video) in equal-width bins against the observed share."""
    p_left = 1 / (1 + np.exp(np.clip(margin, -50, 50)))
    left = 1 - np.asarray(y)
    edges = np.linspace(0, 1, BINS + 1)
    which = np.clip(np.digitize(p_left, edges[1:-1]), 0, BINS - 1)
    bins, ece = [], 0.0
    for b in range(BINS):
        mask = which == b
        if mask.any():
            predicted, observed = float(p_left[mask].mean()), float(left[mask].mean())
            ece += mask.mean() * abs(predicted - observed)
            bins.append({"low": float(edges[b]), "high": float(edges[b + 1]), "pairs": int(mask.sum()),
                         "predicted": predicted, "observed": observed})
    return {"bins": bins, "ece": float(ece) if len(y) else None}


def evaluate(split, s0: np.ndarray, s1: np.ndarray, kind: str, rng: np.random.Generator, resamples: int) -> dict:
    """Agreement (overall, unanimous vs 2-of-3), calibration, scores per generator, cost sign accuracy."""
    margin = (s1 - s0) if kind == "reward" else (s0 - s1)
    h = hits(margin, split.y)
    unanimous = split.agreement >= 0.999
    majority = (split.agreement < 0.999) & (split.agreement > 0.5)
    unknown = np.isnan(split.agreement)
    metrics = {
        "kind": kind, "pairs": int(len(h)), **_summary(h, rng, resamples),
        "by_crowd_agreement": {"unanimous": _summary(h[unanimous], rng, resamples),
                               "majority": _summary(h[majority], rng, resamples),
                               "unknown": {"pairs": int(unknown.sum())}},
        "calibration": calibration(margin, split.y),
    }
    # One score per video (a video may sit in several pairs: its score does not depend on the pair's
    # other video, so the first is kept).
    per_video: dict[str, tuple[float, bool, str]] = {}
    for pair, a, b in zip(split.pairs, s0, s1, strict=True):
        for clip, score in zip(pair.videos, (a, b), strict=True):
            per_video.setdefault(clip.video_id, (float(score), clip.is_safe, clip.generator or "unknown"))
    by_generator = defaultdict(list)
    for score, _safe, generator in per_video.values():
        by_generator[generator].append(score)
    metrics["scores_by_generator"] = {
        g: {"videos": len(v), "mean": float(np.mean(v)), "std": float(np.std(v)),
            "quartiles": [float(q) for q in np.percentile(v, [25, 50, 75])]}
        for g, v in sorted(by_generator.items())}
    metrics["_generator_scores"] = {g: v for g, v in by_generator.items()}  # for the figure; dropped before saving
    if kind == "cost":
        scores = np.array([s for s, _, _ in per_video.values()])
        unsafe = np.array([not safe for _, safe, _ in per_video.values()])
        correct = ((scores > 0) == unsafe).astype(np.float64)
        low, high = bootstrap_ci(correct, rng, resamples)
        metrics["cost_sign"] = {
            "videos": int(len(correct)), "accuracy": float(correct.mean()), "ci_low": low, "ci_high": high,
            "unsafe_videos": int(unsafe.sum()),
            "unsafe_recall": float(correct[unsafe].mean()) if unsafe.any() else None,
            "safe_specificity": float(correct[~unsafe].mean()) if (~unsafe).any() else None}
    return metrics


# --- files --------------------------------------------------------------------------------------

def _plt():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def plot_calibration(metrics: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    bins = metrics["calibration"]["bins"]
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    if bins:
        ax.plot([b["predicted"] for b in bins], [b["observed"] for b in bins], marker="o")
        for b in bins:
            ax.annotate(str(b["pairs"]), (b["predicted"], b["observed"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted P(left video preferred)")
    ax.set_ylabel("observed share of pairs")
    ece = metrics["calibration"]["ece"]
    ax.set_title(f"calibration (ECE {_fmt(ece)}); labels: pairs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_generators(scores: dict[str, list[float]], kind: str, path: Path) -> None:
    plt = _plt()
    names = sorted(scores)
    fig, ax = plt.subplots(figsize=(max(4.5, 1.2 * len(names) + 2), 3.8))
    if names:
        ax.boxplot([scores[n] for n in names])
        ax.set_xticks(range(1, len(names) + 1), [f"{n}\n({len(scores[n])})" for n in names], fontsize=8)
    if kind == "cost":
        ax.axhline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_ylabel("cost (> 0: unsafe)" if kind == "cost" else "reward")
    ax.set_title(f"held-out {kind} per generator (videos)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_report(folder: Path, metrics: dict, info: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scores = metrics.pop("_generator_scores", {})
    (folder / REPORT_FILES["metrics"]).write_text(json.dumps({"metrics": metrics, "info": info}, indent=2))
    plot_calibration(metrics, folder / REPORT_FILES["calibration"])
    plot_generators(scores, metrics["kind"], folder / REPORT_FILES["generators"])
    (folder / REPORT_FILES["card"]).write_text(model_card(metrics, info))
    return folder


def _fmt(value) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def _ci(m: dict) -> str:
    return f"{_fmt(m.get('agreement'))} [{_fmt(m.get('ci_low'))}, {_fmt(m.get('ci_high'))}] ({m.get('pairs', 0)} pairs)"


def model_card(metrics: dict, info: dict) -> str:
    data, config, kind, dim = info.get("data", {}), info.get("model_config", {}), metrics["kind"], info["dimension"]
    what = ("a cost: lower for the video the crowd found more harmless, above 0 for a video it would mark unsafe"
            if kind == "cost" else f"a reward: higher for the video the crowd prefers on {dim}")
    by = metrics["by_crowd_agreement"]
    lines = [
        f"# {kind.capitalize()} model: {dim} {info.get('name', '')}".rstrip(), "",
        f"Scores a (prompt, video) pair with {what}. Two videos of one prompt are compared by their scores "
        "(Bradley-Terry: P(A preferred) = sigmoid(score difference)).", "",
        "## Model", "",
        f"- visual backbone `{config.get('backbone')}`, text encoder `{config.get('text')}`, "
        f"{config.get('frames')} frames per video; moderation's network with one output",
        f"- trainable parameters: {info.get('trainable_parameters', 'n/a')}",
        f"- loss: Bradley-Terry on the crowd majority + {info['train_config'].get('regularization')} x mean squared "
        "score (safe-rlhf's score regulariser)"
        + ("; plus the cost sign term (unsafe videos > 0, safe < 0)" if kind == "cost" else ""),
        f"- {info.get('epochs_run')} epochs, best epoch {info.get('best_epoch')} by validation agreement; "
        f"seed {info.get('seed')}", "",
        "## Data", "",
        f"- snapshot: `{info.get('snapshot')}`",
        f"- pairs: {data.get('train_pairs')} train, {data.get('validation_pairs')} validation (split by prompt), "
        f"{data.get('test_pairs')} test ({data.get('test_source')})",
        f"- videos: {data.get('videos')} ({data.get('unreadable', 0)} unreadable, left out with their pairs)", "",
        "## Held-out results", "",
        f"- agreement with the crowd majority: {_ci(metrics)}, 95% bootstrap interval",
        f"- on unanimous pairs: {_ci(by['unanimous'])}",
        f"- on 2-of-3 (majority) pairs: {_ci(by['majority'])}",
        f"- pairs without an agreement figure: {by['unknown']['pairs']}",
        f"- calibration error (ECE, {BINS} bins): {_fmt(metrics['calibration']['ece'])}",
    ]
    if kind == "cost":
        sign = metrics["cost_sign"]
        lines.append(f"- cost sign against the crowd's is_safe: accuracy {_fmt(sign['accuracy'])} "
                     f"[{_fmt(sign['ci_low'])}, {_fmt(sign['ci_high'])}] over {sign['videos']} videos "
                     f"(unsafe recall {_fmt(sign['unsafe_recall'])}, "
                     f"safe specificity {_fmt(sign['safe_specificity'])})")
    lines += ["", "| generator | videos | mean | std |", "| --- | ---: | ---: | ---: |"]
    for g, s in metrics["scores_by_generator"].items():
        lines.append(f"| {g} | {s['videos']} | {s['mean']:.3f} | {s['std']:.3f} |")
    lines += [
        "", "Figures: `calibration.png`, `scores_by_generator.png`.", "",
        "## Limits", "",
        "- A small frozen or from-scratch encoder is not Video-LLaVA: SafeSora's 65.29% (helpfulness) and "
        "72.41% (harmlessness) agreement are on their release with a 7B backbone; figures here are comparable "
        "only when trained and tested on the same release.",
        "- It learns what the crowd on this platform preferred, on its prompts and generators.",
        "- Scores are relative: compare two videos of the same prompt, not scores across prompts"
        + ("; the cost's sign is the exception, trained against is_safe." if kind == "cost" else "."),
        "",
    ]
    return "\n".join(lines)
