"""Moderation speed: frame sampling against ffmpeg and plain PyAV, training throughput, inference latency.

    python bench/moderation_speed.py                      # this CPU
    python bench/moderation_speed.py --device cuda        # a GPU; adds a ViT-B/16-sized frozen encoder

Needs no database and no Django (only torch, numpy, PyAV and Pillow; imageio-ffmpeg and transformers
when present), so it runs on a bare GPU box from a copy of the repository. Clips are generated here:
5 s of 480p at 24 fps, once as the platform encodes them (generation.encoding: one keyframe per clip)
and once with a keyframe every second (typical of uploads), where seeking pays. Figures are printed
and written to bench/results/moderation_speed.json, and to $OUT/moderation_speed.json when OUT is set.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.encoding import encode_mp4  # noqa: E402
from moderation.frames import sample_frames  # noqa: E402
from moderation.network import ModerationNet, model_config  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NUM_FRAMES = 8
CATEGORIES = 12


# --- clips --------------------------------------------------------------------------------------

def render(seconds: float = 5.0, fps: int = 24, width: int = 854, height: int = 480, seed: int = 0) -> np.ndarray:
    """Moving texture: costs a real decoder real work (flat frames would decode for free)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height, width + 4 * int(seconds * fps), 3), dtype=np.uint8)
    base = ((base.astype(np.uint16) + np.roll(base, 1, axis=1) + np.roll(base, 1, axis=0)) // 3).astype(np.uint8)
    return np.stack([base[:, 4 * t: 4 * t + width] for t in range(int(seconds * fps))])


def write_gop(frames: np.ndarray, path: Path, fps: int, gop: int) -> None:
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "23", "preset": "fast", "g": str(gop), "keyint_min": str(gop)}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_clips(folder: Path, count: int) -> dict[str, list[Path]]:
    sets = {"platform (1 keyframe)": [], "keyframe every 1 s": []}
    for i in range(count):
        frames = render(seed=i)
        platform_clip, gop_clip = folder / f"p{i}.mp4", folder / f"g{i}.mp4"
        encode_mp4(frames, 24, platform_clip)
        write_gop(frames, gop_clip, 24, 24)
        sets["platform (1 keyframe)"].append(platform_clip)
        sets["keyframe every 1 s"].append(gop_clip)
    return sets


# --- frame sampling -----------------------------------------------------------------------------

def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return container.streams.video[0].frames


def wanted(count: int) -> list[int]:
    return [int((i + 0.5) * count / NUM_FRAMES) for i in range(NUM_FRAMES)]


def plain_pyav(path: Path) -> list[np.ndarray]:
    """Decode every frame, convert the wanted ones: what a loader does without seeking."""
    keep = set(wanted(frame_count(path)))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(stream)) if i in keep]


def ffmpeg_select(path: Path, exe: str) -> bytes:
    """The ffmpeg binary decoding the file and emitting the same 8 frames as raw RGB."""
    expr = "+".join(f"eq(n\\,{i})" for i in wanted(frame_count(path)))
    out = subprocess.run([exe, "-v", "error", "-i", str(path), "-vf", f"select={expr}", "-fps_mode", "passthrough",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"], check=True, capture_output=True).stdout
    assert len(out) == NUM_FRAMES * 854 * 480 * 3, "ffmpeg did not return the 8 frames"
    return out


def videos_per_second(methods: dict, clips: list[Path], repeats: int) -> dict[str, float]:
    """Best of `repeats` rounds; within a round the methods take turns, so load changes hit them alike."""
    for fn in methods.values():
        fn(clips[0])  # warm up (page cache, codec init)
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            for clip in clips:
                fn(clip)
            rates[name].append(len(clips) / (time.perf_counter() - start))
    return {name: round(max(values), 2) for name, values in rates.items()}


def bench_sampling(sets: dict[str, list[Path]], repeats: int) -> dict:
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        exe = None
    out = {}
    for name, clips in sets.items():
        ours, reference = sample_frames(clips[0], NUM_FRAMES), plain_pyav(clips[0])
        assert all(np.array_equal(a, b) for a, b in zip(ours, reference, strict=True)), "frames differ from PyAV's"
        methods = {"ours (seek + decode to target)": lambda p: sample_frames(p, NUM_FRAMES),
                   "plain PyAV (decode all)": plain_pyav}
        if exe:
            methods["ffmpeg binary (select filter)"] = lambda p: ffmpeg_select(p, exe)  # noqa: B023
        row = videos_per_second(methods, clips, repeats)
        best_baseline = max(v for k, v in row.items() if not k.startswith("ours"))
        row["ours / best baseline"] = round(row["ours (seek + decode to target)"] / best_baseline, 3)
        row["within 20% of the best baseline"] = row["ours / best baseline"] >= 0.8
        out[name] = row
    return out


# --- training and inference ---------------------------------------------------------------------

def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def bench_training(config: dict, device: str, batch: int, steps: int) -> dict:
    torch.manual_seed(0)
    net = ModerationNet(config, CATEGORIES).to(device).train()
    size = net.input_size
    if net.visual.frozen:  # the head trains on stored features; their values do not change the cost
        video = torch.randn(batch, config["frames"], net.visual.out_dim, dtype=torch.float16, device=device)
    else:
        frames = torch.randint(0, 256, (batch, config["frames"], size, size, 3), dtype=torch.uint8)
        video = net.prepare_video(frames.to(device)).to(device)
    text = net.prepare_text([f"a prompt about item {i}" for i in range(batch)]).to(device)
    target = (torch.rand(batch, CATEGORIES + 1) < 0.2).float().to(device)
    optimizer = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(net(video, text), target).backward()
        optimizer.step()

    for _ in range(3):
        step()
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return {"clips_per_second": round(batch * steps / (time.perf_counter() - start), 1), "batch": batch}


def bench_inference(config: dict, device: str, clips: list[Path]) -> dict:
    """One video at a time, as screening does: sample frames, prepare, forward."""
    torch.manual_seed(0)
    net = ModerationNet(config, CATEGORIES).to(device).eval()
    latencies, sampling = [], []
    with torch.no_grad():
        for i, clip in enumerate([clips[0], *clips]):  # the first is a warm-up
            start = time.perf_counter()
            frames = sample_frames(clip, config["frames"], net.input_size)
            sampled = time.perf_counter()
            video = net.prepare_video(torch.from_numpy(frames[None]).to(device)).to(device)
            torch.sigmoid(net(video, net.prepare_text(["a prompt"]).to(device)))
            sync(device)
            if i:
                latencies.append(time.perf_counter() - start)
                sampling.append(sampled - start)
    return {"latency_ms_median": round(statistics.median(latencies) * 1000, 1),
            "of_which_frame_sampling_ms": round(statistics.median(sampling) * 1000, 1)}


def vit_b16(folder: Path) -> str | None:
    """A CLIP ViT-B/16-sized image encoder with random weights: the compute of the real one, no download."""
    try:
        from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection
    except ImportError:
        return None
    config = CLIPVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                              image_size=224, patch_size=16, projection_dim=512)
    CLIPVisionModelWithProjection(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}).save_pretrained(folder)
    return f"hf:{folder}"


def bench_feature_extraction(config: dict, device: str, batch: int, steps: int) -> dict:
    """The frozen encoder's prepare step (run once per clip before training): clips per second."""
    net = ModerationNet(config, CATEGORIES).to(device)
    frames = torch.randint(0, 256, (batch, config["frames"], net.input_size, net.input_size, 3), dtype=torch.uint8)
    net.prepare_video(frames.to(device))
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        net.prepare_video(frames.to(device))
    sync(device)
    return {"clips_per_second": round(batch * steps / (time.perf_counter() - start), 1), "batch": batch}


# --- main ---------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clips", type=int, default=6, help="clips per set")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--vit", action="store_true", help="also a ViT-B/16-sized frozen encoder (default on cuda)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    figures: dict = {"device": args.device, "torch_threads": torch.get_num_threads()}
    if cuda:
        figures["gpu"] = torch.cuda.get_device_name(args.device)

    with tempfile.TemporaryDirectory() as tmp:
        sets = make_clips(Path(tmp), args.clips)
        figures["frame_sampling_videos_per_second (8 frames, 5 s 480p clips)"] = bench_sampling(sets, args.repeats)
        small = model_config()
        batch, steps = (64, 50) if cuda else (32, 8)
        figures["training_small_backbone_64px"] = bench_training(small, args.device, batch, steps)
        figures["inference_small_backbone_64px"] = bench_inference(small, args.device, sets["platform (1 keyframe)"])
        if args.vit or cuda:
            spec = vit_b16(Path(tmp) / "vit-b16")
            if spec:
                vit = model_config(backbone=spec, width=256)
                figures["feature_extraction_vit_b16_frozen"] = bench_feature_extraction(
                    vit, args.device, 16 if cuda else 2, 10 if cuda else 2)
                figures["training_head_on_vit_b16_features"] = bench_training(vit, args.device, batch, steps)
                figures["inference_vit_b16"] = bench_inference(vit, args.device, sets["platform (1 keyframe)"])
    write(figures)


def write(figures: dict) -> None:
    """bench/common.write_result needs Django settings; a bare GPU box has none, so this writes the same shape."""
    record = {"benchmark": "moderation_speed", "figures": figures,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                          "torch": torch.__version__},
              "database": None, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    text = json.dumps(record, indent=2)
    print(text)
    targets = [RESULTS / "moderation_speed.json"]
    if os.environ.get("OUT"):
        targets.append(Path(os.environ["OUT"]) / "moderation_speed.json")
    for path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"written to {path}")


if __name__ == "__main__":
    main()
