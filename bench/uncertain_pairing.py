"""Uncertainty-driven pairing against random pairing, with simulated annotators on a planted preference.

    python bench/uncertain_pairing.py [--seeds 3] [--batch 6] [--rounds 10] [--target 0.9] [--pattern 9]

The project: prompts with four clips each, about half of them carrying a planted pattern
(tests.synthetic_clips; a pink X by default). Three simulated annotators label a pair: when
exactly one clip has the pattern each prefers it with probability 0.9; otherwise (both or
neither) each flips a coin. The label is their majority. Every round a strategy picks `batch`
new pairs among the unlabelled candidates (every two clips of one prompt), and a reward model
(preference.train's network and loss, small backbone, retrained from scratch) is trained on
all labels so far and scored on held-out pairs of other prompts (decidable pairs only: the
crowd's answer there is the planted truth). `random` picks at random; `uncertain` picks the
pairs the current model scores closest (round one is random for both). Reported: held-out
agreement after each round, and the labels each strategy needed to reach --target, per seed.
Django-free; writes bench/results/uncertain_pairing.json.
"""

import argparse
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.encoding import encode_mp4  # noqa: E402
from moderation.network import ModerationNet, model_config  # noqa: E402
from preference import report  # noqa: E402
from preference.data import DIMENSIONS, Clip, PairRecord  # noqa: E402
from preference.train import (  # noqa: E402
    PreferenceConfig,
    _train_epoch,
    build_split,
    gather_clips,
    preference_margin,
    score_split,
    seed_everything,
)
from tests.synthetic_clips import render_clip  # noqa: E402

CLIPS_PER_PROMPT = 4


def make_project(folder: Path, prompts: int, seed: int, first: int = 0, pattern: int = 0
                 ) -> list[list[tuple[Clip, bool]]]:
    """Prompts numbered from `first` (clip ids must be unique across pool and test: the cache index is by id)."""
    rng = np.random.default_rng(seed)
    project = []
    for p in range(prompts):
        clips = []
        for c in range(CLIPS_PER_PROMPT):
            disk = bool(rng.random() < 0.5)
            path = folder / f"p{first + p}" / f"c{c}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            encode_mp4(render_clip([pattern] if disk else [], rng, 32, 8), 8, path)
            clips.append((Clip(video_id=f"{first + p}-{c}", path=path, is_safe=not disk, generator="g"), disk))
        project.append(clips)
    return project


def crowd_label(disk0: bool, disk1: bool, rng: np.random.Generator) -> int:
    """Majority of three simulated annotators: 1 when video_1 is preferred."""
    votes = []
    for _ in range(3):
        if disk0 != disk1:
            right = 1 if disk1 else 0
            votes.append(right if rng.random() < 0.9 else 1 - right)
        else:
            votes.append(int(rng.random() < 0.5))
    return int(sum(votes) >= 2)


def pair_record(p: int, a: tuple[Clip, bool], b: tuple[Clip, bool], label: int) -> PairRecord:
    return PairRecord(pair_id=f"{a[0].video_id}|{b[0].video_id}", prompt_id=str(p), prompt_text=f"prompt {p}",
                      videos=(a[0], b[0]), choices=dict.fromkeys(DIMENSIONS, label))


def simulate(strategy: str, seed: int, pool, test_pairs, clips, prompts_index, args) -> list[dict]:
    rng = np.random.default_rng(1000 + seed)
    candidates = [(p, a, b) for p, group in enumerate(pool) for a, b in itertools.combinations(group, 2)]
    order = rng.permutation(len(candidates))
    unlabelled = [candidates[i] for i in order]
    labelled: list[PairRecord] = []
    config = PreferenceConfig(epochs=args.epochs, batch_size=16, threads=args.threads, seed=seed,
                              model=model_config(size=32, frames=8, width=32))
    curve, net = [], None
    test_split = build_split(test_pairs, clips, prompts_index, "helpfulness")
    text = None
    for _round in range(args.rounds):
        if strategy == "uncertain" and net is not None:
            probe = [pair_record(p, a, b, 0) for p, a, b in unlabelled]
            split = build_split(probe, clips, prompts_index, "helpfulness")
            s0, s1, _ = score_split(net, clips, text, split, config)
            closest = np.argsort(np.abs(s1 - s0), kind="stable")[: args.batch]
            picked = [unlabelled[i] for i in closest]
            chosen = set(closest.tolist())
            unlabelled = [c for i, c in enumerate(unlabelled) if i not in chosen]
        else:
            picked, unlabelled = unlabelled[: args.batch], unlabelled[args.batch:]
        for p, a, b in picked:
            labelled.append(pair_record(p, a, b, crowd_label(a[1], b[1], rng)))
        seed_everything(seed, args.threads)
        net = ModerationNet(config.model, 0)
        text = net.prepare_text(sorted(prompts_index, key=prompts_index.get))
        train_split = build_split(labelled, clips, prompts_index, "helpfulness")
        optimizer = torch.optim.AdamW([q for q in net.parameters() if q.requires_grad], lr=config.lr,
                                      weight_decay=config.weight_decay)
        for epoch in range(1, config.epochs + 1):
            _train_epoch(net, clips, text, train_split, optimizer, config, epoch)
        s0, s1, _ = score_split(net, clips, text, test_split, config)
        agreement = report.agreement(preference_margin(s0, s1, "reward"), test_split.y)
        decidable = sum(a[1] != b[1] for p, a, b in picked)
        curve.append({"labels": len(labelled), "agreement": round(agreement, 4),
                      "decidable_share_of_new_labels": round(decidable / max(len(picked), 1), 3)})
        print(f"{strategy} seed {seed}: {curve[-1]}", flush=True)
    return curve


def labels_to_reach(curve: list[dict], target: float) -> int | None:
    return next((c["labels"] for c in curve if c["agreement"] >= target), None)


def labels_to_stay(curve: list[dict], target: float) -> int | None:
    """The label count from which agreement stays at or above target to the last round."""
    for i, point in enumerate(curve):
        if all(c["agreement"] >= target for c in curve[i:]):
            return point["labels"]
    return None


def summarise(results: dict, target: float) -> dict:
    summary = {}
    for strategy, runs in results.items():
        curves = [r["curve"] for r in runs]
        summary[strategy] = {
            "labels_to_first_reach_target": [labels_to_reach(c, target) for c in curves],
            "labels_to_stay_at_target": [labels_to_stay(c, target) for c in curves],
            "mean_agreement_by_labels": {str(point["labels"]): round(float(np.mean(
                [c[i]["agreement"] for c in curves])), 4) for i, point in enumerate(curves[0])},
            "mean_decidable_share_of_labels": round(float(np.mean(
                [p["decidable_share_of_new_labels"] for c in curves for p in c])), 3)}
    lines = []
    for measure in ("labels_to_first_reach_target", "labels_to_stay_at_target"):
        r, u = summary["random"][measure], summary["uncertain"][measure]
        both = [(a, b) for a, b in zip(r, u, strict=True) if a is not None and b is not None]
        lines.append(f"{measure}: uncertain {np.mean([b for _, b in both]):.0f} against random "
                     f"{np.mean([a for a, _ in both]):.0f} labels (mean over the {len(both)} seeds where both did)"
                     if both else f"{measure}: no seed where both strategies did")
    summary["saving"] = lines
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=60, help="prompts in the labelling pool (4 clips each)")
    parser.add_argument("--test-prompts", type=int, default=40)
    parser.add_argument("--batch", type=int, default=6, help="labels bought per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--target", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pattern", type=int, default=9,
                        help="the planted pattern (tests.synthetic_clips's category index; 9: a pink X, 0: a red disk)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = {"random": [], "uncertain": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seed in range(args.seeds):
            pool = make_project(tmp / f"pool-{seed}", args.prompts, seed, pattern=args.pattern)
            held = make_project(tmp / f"test-{seed}", args.test_prompts, 10_000 + seed, first=args.prompts,
                                pattern=args.pattern)
            test_pairs = [pair_record(args.prompts + p, a, b, int(b[1]))
                          for p, group in enumerate(held) for a, b in itertools.combinations(group, 2)
                          if a[1] != b[1]]
            every = [pair_record(p, a, b, 0) for p, group in enumerate(pool)
                     for a, b in itertools.combinations(group, 2)] + test_pairs
            net = ModerationNet(model_config(size=32, frames=8, width=32), 0)
            clips = gather_clips(net, every, tmp / f"prepared-{seed}", PreferenceConfig(threads=args.threads))
            prompts_index = {t: i for i, t in enumerate(sorted({p.prompt_text for p in every}))}
            for strategy in results:
                curve = simulate(strategy, seed, pool, test_pairs, clips, prompts_index, args)
                results[strategy].append({"seed": seed, "test_pairs": len(test_pairs), "curve": curve,
                                          "labels_to_target": labels_to_reach(curve, args.target)})
    summary = summarise(results, args.target)
    record = {"benchmark": "uncertain_pairing", "settings": vars(args), "summary": summary, "runs": results,
              "seconds": round(time.perf_counter() - started, 1),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
              "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    text = json.dumps(record, indent=2)
    print(json.dumps(summary, indent=2))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "uncertain_pairing.json").write_text(text)


if __name__ == "__main__":
    main()
