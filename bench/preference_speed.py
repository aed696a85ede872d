"""Preference models: preparing, training and scoring throughput on CPU, with the per-clip cache cold and warm,
and the learnability figures (planted preference vs shuffled preferences).

    python bench/preference_speed.py                     # this CPU, small backbone
    python bench/preference_speed.py --device cuda --vit # a GPU; a ViT-B/16-sized frozen encoder (random weights)

Needs no database and no Django. Clips are tests.synthetic_preferences's (32 px, 8 frames; --size to change).
Figures are printed and written to bench/results/preference_speed.json (and $OUT/ when OUT is set).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.features import ClipCache  # noqa: E402
from moderation.network import model_config  # noqa: E402
from preference.predict import Scorer  # noqa: E402
from preference.train import PreferenceConfig, train  # noqa: E402
from tests.synthetic_preferences import write_preference_release  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run(release: Path, folder: Path, cache: Path | None, model: dict, args, dimension: str = "helpfulness",
        epochs: int | None = None) -> tuple[dict, float]:
    config = PreferenceConfig(dimension=dimension, epochs=epochs or args.epochs, patience=100, threads=args.threads,
                              device=args.device, feature_cache=str(cache) if cache else None, bootstrap=500,
                              model=model)
    started = time.perf_counter()
    result = train(release, folder, config)
    return result, time.perf_counter() - started


def bench_throughput(tmp: Path, release: Path, model: dict, args) -> dict:
    cache = tmp / f"cache-{len(list(tmp.iterdir()))}"
    out = {}
    for label in ("cold", "warm"):
        result, seconds = run(release, tmp / f"run-{label}-{cache.name}", cache, model, args, epochs=1)
        videos = result.info["data"]["videos"]
        history = result.history[0]
        out[f"features_{label}"] = {
            "videos": videos, "cache_hits": result.info["data"]["feature_cache_hits"],
            "job_seconds_one_epoch": round(seconds, 2),
            "train_pairs_per_second": history["pairs_per_second"],
            "train_clips_per_second": round(2 * history["pairs_per_second"], 1)}
    # Scoring: the Scorer on every test clip, through the cache (cold: a new cache folder; warm: the same again).
    scorer_cache = ClipCache(tmp / f"score-cache-{cache.name}")
    scorer = Scorer.load(result.artifact, cache=scorer_cache, device=args.device)
    from preference.data import load_pairs

    items = [(c.path, p.prompt_text) for p in load_pairs(release).test for c in p.videos]
    for label in ("cold", "warm"):
        started = time.perf_counter()
        scorer.score(items)
        seconds = time.perf_counter() - started
        out[f"scoring_{label}"] = {"clips": len(items), "clips_per_second": round(len(items) / seconds, 1)}
    return out


def bench_learnability(tmp: Path, args) -> dict:
    out = {}
    model = model_config(size=32, frames=8, width=32)
    planted = write_preference_release(tmp / "planted", train=args.pairs, test=240, seed=3)
    shuffled = write_preference_release(tmp / "shuffled", train=args.pairs, test=240, seed=3, shuffle_train=True,
                                        shuffle_test=True)
    shuffled_train_only = write_preference_release(tmp / "shuffled-train", train=args.pairs, test=240, seed=3,
                                                   shuffle_train=True)
    for name, release, dimension in (("planted_reward", planted, "helpfulness"),
                                     ("planted_cost", planted, "harmlessness"),
                                     ("shuffled_reward", shuffled, "helpfulness"),
                                     ("shuffled_train_only_reward", shuffled_train_only, "helpfulness")):
        result, seconds = run(release, tmp / f"learn-{name}", tmp / "learn-cache", model, args, dimension, epochs=3)
        m = result.metrics
        out[name] = {"agreement": round(m["agreement"], 4), "ci": [round(m["ci_low"], 4), round(m["ci_high"], 4)],
                     "test_pairs": m["pairs"], "seconds": round(seconds, 1)}
        if "cost_sign" in m:
            out[name]["cost_sign_accuracy"] = round(m["cost_sign"]["accuracy"], 4)
    return out


def vit_b16(folder: Path) -> str:
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                              image_size=224, patch_size=16, projection_dim=512)
    CLIPVisionModelWithProjection(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(folder)
    return f"hf:{folder}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pairs", type=int, default=160, help="train pairs of the synthetic release")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--vit", action="store_true", help="also a ViT-B/16-sized frozen encoder (random weights)")
    parser.add_argument("--skip-learnability", action="store_true")
    args = parser.parse_args()
    figures = {"device": args.device, "torch_threads": args.threads or torch.get_num_threads()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        release = write_preference_release(tmp / "release", train=args.pairs, test=80, size=args.size, seed=1)
        small = model_config(size=args.size, frames=8, width=64)
        figures["small_backbone"] = bench_throughput(tmp, release, small, args)
        if args.vit:
            vit = model_config(backbone=vit_b16(tmp / "vit-b16"), width=256)
            figures["vit_b16_frozen_random_weights"] = bench_throughput(tmp, release, vit, args)
        if not args.skip_learnability:
            figures["learnability"] = bench_learnability(tmp, args)
    record = {"benchmark": "preference_speed", "figures": figures,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(),
                          "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None},
              "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    text = json.dumps(record, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.device == "cpu" else "_gpu"
    (RESULTS / f"preference_speed{suffix}.json").write_text(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], f"preference_speed{suffix}.json").write_text(text)


if __name__ == "__main__":
    main()
