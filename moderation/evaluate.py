"""Metrics, threshold tuning and the evaluation report (figures and model card) of a classifier.

Inputs everywhere: Y (N, K) of 0/1 truths and P (N, K) of probabilities, one column per harm
category and a last column for "unsafe". Metrics are computed here with numpy (no scikit-learn),
AUROC as the Mann-Whitney statistic with ties counted half.
"""

import json
import math
from pathlib import Path

import numpy as np

UNSAFE = "unsafe"


def auroc(y: np.ndarray, s: np.ndarray) -> float | None:
    """Area under the ROC curve; None when only one class is present."""
    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    sorted_scores = np.asarray(s)[order]
    ranks = np.empty(len(s), dtype=np.float64)
    # Average ranks over ties.
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    for start, count in zip(first, counts, strict=True):
        ranks[order[start:start + count]] = start + (count + 1) / 2
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and the thresholds they hold at (predict positive when score >= threshold)."""
    y = np.asarray(y).astype(bool)
    order = np.argsort(-np.asarray(s), kind="mergesort")
    scores, truth = np.asarray(s)[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]  # last index of each score value
    tp = np.cumsum(truth)[distinct]
    fp = (distinct + 1) - tp
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(int(y.sum()), 1)
    return precision, recall, scores[distinct]


def average_precision(y: np.ndarray, s: np.ndarray) -> float | None:
    if not np.asarray(y).any():
        return None
    precision, recall, _ = pr_curve(y, s)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_threshold(y: np.ndarray, s: np.ndarray, default: float = 0.5) -> float:
    """The threshold with the highest F1, placed halfway to the next lower score (room to generalise)."""
    y = np.asarray(y).astype(bool)
    if not y.any() or y.all():
        return default
    precision, recall, thresholds = pr_curve(y, s)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1))
    lower = thresholds[best + 1] if best + 1 < len(thresholds) else 0.0
    return float((thresholds[best] + lower) / 2)


def tune_thresholds(Y: np.ndarray, P: np.ndarray, names: list[str]) -> dict[str, float]:
    return {name: best_threshold(Y[:, k], P[:, k]) for k, name in enumerate(names)}


def precision_recall_f1(tp: int, fp: int, fn: int) -> dict[str, float | None]:
    """None (shown as n/a) where a measure is undefined: without positives there is no recall or F1
    to speak of (and precision says nothing), without predicted positives no precision."""
    if tp + fn == 0:
        return {"precision": None, "recall": None, "f1": None}
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn)
    f1 = 2 * tp / (2 * tp + fp + fn)  # = 2PR/(P+R), and 0 when nothing was found
    return {"precision": precision, "recall": recall, "f1": f1}


def binary_metrics(y: np.ndarray, s: np.ndarray, threshold: float) -> dict:
    y = np.asarray(y).astype(bool)
    predicted = np.asarray(s) >= threshold
    tp, fp, fn = int((predicted & y).sum()), int((predicted & ~y).sum()), int((~predicted & y).sum())
    return {
        "support": int(y.sum()), "tp": tp, "fp": fp, "fn": fn, **precision_recall_f1(tp, fp, fn),
        "auroc": auroc(y, s), "average_precision": average_precision(y, s),
        "accuracy": float((predicted == y).mean()) if len(y) else 0.0, "threshold": float(threshold),
    }


def _mean(values: list[float | None]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def compute_metrics(Y: np.ndarray, P: np.ndarray, thresholds: dict[str, float], keys: list[str]) -> dict:
    """Per category, macro and micro averages over the categories, and unsafe vs safe."""
    Y, P = np.asarray(Y), np.asarray(P)
    categories = {key: binary_metrics(Y[:, k], P[:, k], thresholds[key]) for k, key in enumerate(keys)}
    # Macro: over the categories that have positives in this set (F1 is undefined without any).
    present = [key for key in keys if categories[key]["support"] > 0]
    macro = {m: _mean([categories[k][m] for k in present])
             for m in ("precision", "recall", "f1", "auroc", "average_precision")}
    macro["categories"] = len(present)
    tp, fp, fn = (sum(categories[k][c] for k in keys) for c in ("tp", "fp", "fn"))
    k = len(keys)
    micro = {**precision_recall_f1(tp, fp, fn), "auroc": auroc(Y[:, :k].ravel(), P[:, :k].ravel())}
    return {
        "samples": int(len(Y)), "categories": categories, "macro": macro, "micro": micro,
        "absent_categories": [key for key in keys if key not in present],
        UNSAFE: binary_metrics(Y[:, k], P[:, k], thresholds[UNSAFE]),
    }


# --- the report ---------------------------------------------------------------------------------

def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def plot_pr_curves(Y: np.ndarray, P: np.ndarray, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    cols = 4
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows), sharex=True, sharey=True)
    for k, (name, ax) in enumerate(zip(names, axes.ravel(), strict=False)):
        if Y[:, k].any():
            precision, recall, _ = pr_curve(Y[:, k], P[:, k])
            ax.step(np.r_[0.0, recall], np.r_[precision[0], precision], where="post")
            ax.set_title(f"{name}  AP {_fmt(average_precision(Y[:, k], P[:, k]))}", fontsize=9)
        else:
            ax.set_title(f"{name}  (no positives)", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.supxlabel("recall")
    fig.supylabel("precision")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_per_category(metrics: dict, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = [metrics["categories"].get(n) or metrics[n] for n in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.9), 4))
    for i, measure in enumerate(("precision", "recall", "f1", "auroc")):
        values = [r[measure] if r[measure] is not None else 0.0 for r in rows]
        ax.bar(x + (i - 1.5) * 0.2, values, width=0.2, label=measure)
    ax.set_xticks(x, names, rotation=40, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(ncol=4, fontsize=8, loc="lower right")
    ax.set_title("held-out metrics per category (at the tuned thresholds)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


REPORT_FILES = {"metrics": "metrics.json", "card": "model_card.md", "pr_curves": "pr_curves.png",
                "per_category": "per_category.png"}


def write_report(folder: Path, Y: np.ndarray, P: np.ndarray, metrics: dict, keys: list[str], info: dict) -> Path:
    """metrics.json, the two figures and model_card.md into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [*keys, UNSAFE]
    (folder / REPORT_FILES["metrics"]).write_text(json.dumps({"metrics": metrics, "info": info}, indent=2))
    plot_pr_curves(Y, P, names, folder / REPORT_FILES["pr_curves"])
    plot_per_category(metrics, names, folder / REPORT_FILES["per_category"])
    (folder / REPORT_FILES["card"]).write_text(model_card(metrics, keys, info))
    return folder


def model_card(metrics: dict, keys: list[str], info: dict) -> str:
    from safesora.taxonomy import HARM_BY_KEY

    data, config = info.get("data", {}), info.get("model_config", {})
    lines = [
        f"# Moderation model {info.get('name', '')}".rstrip(),
        "",
        "Predicts, from a text-to-video prompt and frames of the video, the probability of each of SafeSora's 12 "
        "harm categories and of the video being unsafe.",
        "",
        "## Model",
        "",
        f"- visual backbone: `{config.get('backbone')}`; text encoder: `{config.get('text')}`; "
        f"{config.get('frames')} frames per video"
        + (f" at {config.get('size')} px" if config.get("backbone") == "small" else ""),
        f"- trainable parameters: {info.get('trainable_parameters', 'n/a')}",
        f"- training: {info.get('epochs_run', '?')} epochs (best epoch {info.get('best_epoch', '?')}), "
        f"seed {info.get('seed')}, weighted binary cross-entropy (pos_weight per class)",
        "",
        "## Data",
        "",
        f"- snapshot: `{info.get('snapshot', '')}`",
        f"- videos: {data.get('train', '?')} train, {data.get('validation', '?')} validation (thresholds, early "
        f"stopping; split by prompt), {data.get('test', '?')} held out ({data.get('test_source', 'test split')})",
        f"- unreadable videos left out: {data.get('unreadable', 0)}",
        f"- unsafe share in training: {_fmt(data.get('unsafe_share'))}",
        "",
        "| category | code | train positives | test positives |",
        "| --- | --- | ---: | ---: |",
    ]
    for key in keys:
        lines.append(f"| {key} | {HARM_BY_KEY[key].code} | {data.get('train_positives', {}).get(key, '?')} | "
                     f"{metrics['categories'][key]['support']} |")
    unsafe = metrics[UNSAFE]
    lines += [
        "",
        f"## Held-out metrics ({metrics['samples']} videos)",
        "",
        f"- macro over {metrics['macro']['categories']} categories with positives: F1 {_fmt(metrics['macro']['f1'])}, "
        f"AUROC {_fmt(metrics['macro']['auroc'])}, precision {_fmt(metrics['macro']['precision'])}, "
        f"recall {_fmt(metrics['macro']['recall'])}",
        f"- micro: F1 {_fmt(metrics['micro']['f1'])}, AUROC {_fmt(metrics['micro']['auroc'])}",
        f"- unsafe vs safe: AUROC {_fmt(unsafe['auroc'])}, F1 {_fmt(unsafe['f1'])} at threshold "
        f"{unsafe['threshold']:.3f} (precision {_fmt(unsafe['precision'])}, recall {_fmt(unsafe['recall'])})",
        "",
        "| category | precision | recall | F1 | AUROC | AP | threshold |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in [*keys, UNSAFE]:
        m = metrics["categories"].get(name) or metrics[name]
        lines.append(f"| {name} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | {_fmt(m['auroc'])} "
                     f"| {_fmt(m['average_precision'])} | {m['threshold']:.3f} |")
    if metrics["absent_categories"]:
        absent = ", ".join(metrics["absent_categories"])
        lines += ["", f"No held-out positives (left out of the macro average): {absent}."]
    lines += [
        "",
        "Figures: `pr_curves.png` (precision-recall per category), `per_category.png`.",
        "For scale: a public baseline on SafeSora-Label (frozen image encoder, temporal transformer, 8 frames) "
        "reports macro-AUROC about 0.95 and macro-F1 about 0.49.",
        "",
        "## Intended use",
        "",
        "Screening newly generated videos so that admins can hold them back from annotation or review them "
        "first, and research on text-video moderation. Not a substitute for human review: a flag is a "
        "prompt to look, and an unflagged video is not certified safe.",
        "",
        "## Limits",
        "",
        "- It knows only what its labels say: crowdworker judgements on this platform's prompts and generators. "
        "Videos from other generators, styles or lengths may score differently.",
        "- Categories with few training positives (see the table) have unreliable scores and thresholds.",
        f"- It sees {config.get('frames')} frames sampled uniformly and no audio: brief events between "
        "sampled frames can be missed.",
        "- Thresholds are tuned for F1 on the validation split; a deployment that must miss less should lower "
        "them (the PR curves show the trade-off).",
        "- Probabilities are not calibrated across categories; compare a score with its own threshold.",
        "",
    ]
    return "\n".join(lines)
