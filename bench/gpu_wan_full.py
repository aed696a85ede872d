"""Seconds per video and peak GPU memory of a full-size Wan 2.1 T2V 1.3B pipeline, with and without memory switches.

The pipeline is diffusers' WanPipeline built from the published configs of Wan-AI/Wan2.1-T2V-1.3B-Diffusers
(transformer, VAE, UMT5-XXL text encoder, UniPC flow scheduler; values written out below) with random
weights: speed and memory do not depend on the weights, and nothing is downloaded. Weights are
initialised directly on the GPU in bfloat16 (the VAE in float32, as the model card runs it), the
tokenizer is built in memory. Each configuration gets a fresh pipeline, the platform's memory switches
(generation.pipelines.memory), a short warm-up call, then one timed standard video: 480x832, 81 frames,
50 steps, CFG 5 with the model card's negative prompt.

Standalone: no Django, no database. Needs torch, diffusers, transformers and this repository.

    python bench/gpu_wan_full.py                         # plain, offload_tiling (about 4-6 min on an H100)
    python bench/gpu_wan_full.py --configs plain,vae_tiling,offload_tiling,group_offload,first_block_cache
    python bench/gpu_wan_full.py --steps 10              # a quicker look; seconds per step is still reported
    python bench/gpu_wan_full.py --cpu-smoke             # same code path on CPU with a tiny config

Results are printed and written (after each configuration, so a cut-off run keeps what it measured)
to $OUT/gpu_wan_full.json when OUT is set, else bench/results/gpu_wan_full.json
(gpu_wan_full_cpu_smoke.json for --cpu-smoke).
"""

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generation.pipelines import cast_module, wan  # noqa: E402
from generation.pipelines.memory import apply_memory_options  # noqa: E402
from generation.pipelines.tiny import t5_tokenizer  # noqa: E402

# Wan-AI/Wan2.1-T2V-1.3B-Diffusers, transformer/config.json.
TRANSFORMER = {
    "patch_size": (1, 2, 2), "num_attention_heads": 12, "attention_head_dim": 128, "in_channels": 16,
    "out_channels": 16, "text_dim": 4096, "freq_dim": 256, "ffn_dim": 8960, "num_layers": 30,
    "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6, "image_dim": None,
    "added_kv_proj_dim": None, "rope_max_seq_len": 1024,
}
# vae/config.json (AutoencoderKLWan's defaults are the published Wan 2.1 VAE).
VAE = {"base_dim": 96, "z_dim": 16, "dim_mult": [1, 2, 4, 4], "num_res_blocks": 2, "attn_scales": [],
       "temperal_downsample": [False, True, True], "dropout": 0.0}
# text_encoder/config.json: the encoder of google/umt5-xxl (about 5.7B parameters).
TEXT_ENCODER = {
    "vocab_size": 256384, "d_model": 4096, "d_kv": 64, "d_ff": 10240, "num_layers": 24, "num_heads": 64,
    "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128, "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu", "tie_word_embeddings": False,
    "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
}
# scheduler/scheduler_config.json.
SCHEDULER = {"prediction_type": "flow_prediction", "use_flow_sigmas": True, "flow_shift": 3.0,
             "num_train_timesteps": 1000, "solver_order": 2}

# --cpu-smoke: the same construction at toy size.
TINY_TRANSFORMER = {**TRANSFORMER, "num_attention_heads": 2, "attention_head_dim": 12, "text_dim": 32,
                    "freq_dim": 32, "ffn_dim": 48, "num_layers": 2, "rope_max_seq_len": 32}
TINY_VAE = {**VAE, "base_dim": 8, "dim_mult": [1, 1, 1, 1], "num_res_blocks": 1}
TINY_TEXT_ENCODER = {**TEXT_ENCODER, "vocab_size": 512, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2,
                     "num_heads": 4, "relative_attention_num_buckets": 8}

# Memory switches per configuration, in the platform's names (docs/generators.md).
CONFIGS = {
    "plain": {},
    "vae_tiling": {"vae_tiling": True},
    "offload_tiling": {"model_cpu_offload": True, "vae_tiling": True},
    "group_offload": {"group_offload": {"offload_type": "block_level", "num_blocks_per_group": 1,
                                        "use_stream": True}, "vae_tiling": True},
    "first_block_cache": {"cache": {"type": "first_block", "threshold": 0.05}},
}
OFFLOADING = {"model_cpu_offload", "sequential_cpu_offload", "group_offload"}
PROMPT = ("A cat and a dog baking a cake together in a kitchen. The cat is carefully measuring flour, while the "
          "dog is stirring the batter with a wooden spoon. The kitchen is cozy, with sunlight streaming through "
          "the window.")


def build_pipeline(device: str, dtype: torch.dtype, tiny: bool):
    """A WanPipeline of the published shapes with random weights, made on `device`."""
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    previous = torch.get_default_dtype()
    with torch.device(device):
        torch.set_default_dtype(dtype)
        try:
            text_encoder = UMT5EncoderModel(UMT5Config(**(TINY_TEXT_ENCODER if tiny else TEXT_ENCODER))).eval()
            transformer = WanTransformer3DModel(**(TINY_TRANSFORMER if tiny else TRANSFORMER)).eval()
        finally:
            torch.set_default_dtype(previous)
        vae = AutoencoderKLWan(**(TINY_VAE if tiny else VAE)).eval()
    cast_module(transformer, dtype)  # what from_pretrained keeps in float32 stays so
    pipe = WanPipeline(tokenizer=t5_tokenizer(), text_encoder=text_encoder, vae=vae, transformer=transformer,
                       scheduler=UniPCMultistepScheduler(**SCHEDULER))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def gib(n: int) -> float:
    return round(n / 2**30, 2)


def run_video(pipe, args, steps: int, device: str) -> dict:
    """One video; returns its timings. Step ends are timed through the pipeline's step callback."""
    step_ends: list[float] = []

    def on_step_end(pipeline, step, timestep, kwargs):
        synchronize(device)
        step_ends.append(time.perf_counter())
        return kwargs

    synchronize(device)
    start = time.perf_counter()
    output = pipe(prompt=PROMPT, negative_prompt=wan.DEFAULTS["negative_prompt"], height=args.height,
                  width=args.width, num_frames=args.frames, num_inference_steps=steps,
                  guidance_scale=wan.DEFAULTS["guidance_scale"], generator=torch.Generator("cpu").manual_seed(0),
                  output_type="np", callback_on_step_end=on_step_end)
    synchronize(device)
    end = time.perf_counter()
    frames = output.frames[0]
    intervals = [b - a for a, b in zip(step_ends, step_ends[1:], strict=False)]
    return {
        "seconds": round(end - start, 2),
        "denoise_seconds": round(step_ends[-1] - start, 2),  # text encoding + all steps
        "decode_seconds": round(end - step_ends[-1], 2),  # VAE decode + conversion to numpy frames
        "seconds_per_step": round(sum(intervals) / len(intervals), 3) if intervals else None,
        "frames_shape": list(frames.shape),
    }


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure(name: str, options: dict, args, device: str, dtype: torch.dtype) -> dict:
    if device == "cpu" and OFFLOADING & {k for k, v in options.items() if v}:
        return {"skipped": "offloading needs a GPU"}
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    started = time.perf_counter()
    pipe = build_pipeline("cpu" if args.cpu_smoke else device, dtype, tiny=args.cpu_smoke)
    apply_memory_options(pipe, options, device=device)
    synchronize(device)
    result: dict = {"memory_options": options, "build_seconds": round(time.perf_counter() - started, 2)}
    if device.startswith("cuda"):
        result["resident_gib"] = gib(torch.cuda.memory_allocated())
        torch.cuda.reset_peak_memory_stats()
    if args.warmup_steps:
        result["warmup"] = run_video(pipe, args, args.warmup_steps, device)
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    result.update(run_video(pipe, args, args.steps, device))
    if device.startswith("cuda"):
        result["peak_allocated_gib"] = gib(torch.cuda.max_memory_allocated())
        result["peak_reserved_gib"] = gib(torch.cuda.max_memory_reserved())
    else:
        result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    del pipe
    return result


def environment(device: str) -> dict:
    import diffusers
    import transformers

    info = {"python": platform.python_version(), "torch": torch.__version__, "diffusers": diffusers.__version__,
            "transformers": transformers.__version__, "device": device, "cpus": os.cpu_count()}
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name()
        info["gpu_memory_gib"] = gib(torch.cuda.get_device_properties(0).total_memory)
    return info


def result_path(cpu_smoke: bool) -> Path:
    folder = Path(os.environ["OUT"]) if os.environ.get("OUT") else ROOT / "bench" / "results"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / ("gpu_wan_full_cpu_smoke.json" if cpu_smoke else "gpu_wan_full.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--warmup-steps", type=int, default=2, help="steps of the untimed first call (0: none)")
    parser.add_argument("--configs", default="plain,offload_tiling",
                        help=f"comma-separated, from: {', '.join(CONFIGS)}")
    parser.add_argument("--cpu-smoke", action="store_true",
                        help="run the same code on CPU with a toy-size config (checks the script, measures nothing)")
    args = parser.parse_args()
    names = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")
    if args.cpu_smoke:
        device, dtype = "cpu", torch.float32
        if "--height" not in sys.argv and "--width" not in sys.argv:
            args.height = args.width = 32
        args.frames = 5 if "--frames" not in sys.argv else args.frames
        args.steps = 2 if "--steps" not in sys.argv else args.steps
        args.warmup_steps = min(args.warmup_steps, 1)
        torch.set_num_threads(1)
    elif not torch.cuda.is_available():
        parser.error("no CUDA GPU here; use --cpu-smoke to check the script on CPU")
    else:
        device, dtype = "cuda", torch.bfloat16

    record = {
        "benchmark": "gpu_wan_full",
        "model": "Wan 2.1 T2V 1.3B (published configs, random weights)",
        "video": {"height": args.height, "width": args.width, "frames": args.frames, "steps": args.steps,
                  "guidance_scale": wan.DEFAULTS["guidance_scale"], "dtype": str(dtype).removeprefix("torch.")},
        "cpu_smoke": args.cpu_smoke,
        "environment": environment(device),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "configs": {},
    }
    path = result_path(args.cpu_smoke)
    for name in names:
        print(f"[{name}] building and running ...", flush=True)
        record["configs"][name] = figures = measure(name, CONFIGS[name], args, device, dtype)
        path.write_text(json.dumps(record, indent=2))
        for key, value in figures.items():
            if key != "warmup":
                print(f"  {key:>20}: {value}", flush=True)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
