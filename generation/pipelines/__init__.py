"""Diffusers text-to-video pipelines: the one API the generation workers call.

    pipe = load_pipeline(generator)                     # once per worker process
    videos = generate_frames(pipe, generator, prompts, seeds)   # list of (T, H, W, 3) uint8

One module per family (wan, cogvideox, ltx, hunyuan, mochi, animatediff) names its diffusers
pipeline class, its published checkpoints and defaults, whether one call can take several
prompts, and `build_tiny(seed)`: the same pipeline class at toy size with random weights, which a
Generator with an empty checkpoint runs (tests, CI and the demo). docs/generators.md has the rest.

Nothing here needs Django at import time, so a GPU box can use these modules without a database.
"""

import contextlib
import inspect
import logging
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from generation.pipelines import animatediff, cogvideox, hunyuan, ltx, mochi, wan
from generation.pipelines.memory import OOM_FALLBACK, SWITCHES, apply_memory_options, validate_memory_options
from generation.pipelines.tiny import diffusers_log_level

if TYPE_CHECKING:
    from generation.models import Generator

__all__ = [
    "FAMILIES", "OOM_FALLBACK", "SWITCHES", "apply_memory_options", "call_arguments", "cast_module",
    "default_generators",
    "family_of", "generate_frames", "load_pipeline", "validate_memory_options", "validate_params",
]

FAMILIES: dict[str, ModuleType] = {
    "wan": wan,
    "cogvideox": cogvideox,
    "ltx": ltx,
    "hunyuan": hunyuan,
    "mochi": mochi,
    "animatediff": animatediff,
}
DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
# Generator fields that are pipeline arguments of the same name.
_CALL_FIELDS = ("num_frames", "height", "width", "num_inference_steps", "guidance_scale", "negative_prompt")
# Arguments generate_frames sets itself; a job may not override them.
_RESERVED = {"prompt", "generator", "output_type", "return_dict", "num_videos_per_prompt", "latents",
             "prompt_embeds", "negative_prompt_embeds", "callback_on_step_end"}


def family_of(generator: "Generator") -> ModuleType:
    try:
        return FAMILIES[generator.family]
    except KeyError:
        raise ValueError(f"generator {generator.name}: unknown family {generator.family!r}; "
                         f"known: {', '.join(FAMILIES)}") from None


def _pipeline_class_name(generator: "Generator") -> str:
    family = family_of(generator)
    name = generator.pipeline_class or family.PIPELINE_CLASS
    if not generator.checkpoint and name != family.PIPELINE_CLASS:
        raise ValueError(f"generator {generator.name}: the tiny {generator.family} variant is a "
                         f"{family.PIPELINE_CLASS}, not a {name}")
    return name


def _pipeline_class(generator: "Generator") -> type:
    import diffusers

    name = _pipeline_class_name(generator)
    cls = getattr(diffusers, name, None)
    if not isinstance(cls, type):
        raise ValueError(f"generator {generator.name}: diffusers has no pipeline class {name!r}")
    return cls


def load_pipeline(generator: "Generator", device: str | None = None,
                  memory_options: dict[str, Any] | None = None):
    """A ready pipeline for `generator`: its checkpoint (hub id or local path), or the tiny twin when empty.

    `device` defaults to CUDA when there is one. `memory_options` replaces the generator's own switches
    (a worker retrying after out-of-memory passes them merged with OOM_FALLBACK).
    """
    family = family_of(generator)
    options = generator.memory_options if memory_options is None else memory_options
    validate_memory_options(options or {})
    try:
        dtype = DTYPES[generator.dtype]
    except KeyError:
        raise ValueError(f"generator {generator.name}: unknown dtype {generator.dtype!r}") from None
    component_dtypes = _component_dtypes(family, dtype)
    if generator.checkpoint:
        torch_dtype = {"default": dtype, **component_dtypes} if component_dtypes else dtype
        components = _load_components(generator, dtype)
        pipe = _pipeline_class(generator).from_pretrained(generator.checkpoint, **{_dtype_keyword(): torch_dtype},
                                                          **components)
        if hasattr(family, "after_load"):
            family.after_load(pipe)
    else:
        _pipeline_class_name(generator)
        pipe = family.build_tiny(seed=0)
        for name, component in pipe.components.items():
            if isinstance(component, torch.nn.Module):
                cast_module(component, component_dtypes.get(name, dtype))
    pipe.set_progress_bar_config(disable=True)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    apply_memory_options(pipe, options or {}, device=device)
    return pipe


def _dtype_keyword() -> str:
    """diffusers renamed from_pretrained's `torch_dtype` to `dtype` (0.42 warns about the old name)."""
    import diffusers.utils

    return "dtype" if hasattr(diffusers.utils, "_resolve_dtype") else "torch_dtype"


def _load_components(generator: "Generator", dtype: torch.dtype) -> dict[str, Any]:
    """Components a family takes from a second checkpoint named in extra_params (AnimateDiff's motion adapter)."""
    import diffusers

    components = {}
    for name, class_name in getattr(family_of(generator), "COMPONENTS", {}).items():
        checkpoint = (generator.extra_params or {}).get(name)
        if checkpoint:
            components[name] = getattr(diffusers, class_name).from_pretrained(checkpoint,
                                                                              **{_dtype_keyword(): dtype})
    return components


def _component_dtypes(family: ModuleType, dtype: torch.dtype) -> dict[str, torch.dtype]:
    """A family's per-component dtypes (Wan's float32 VAE); they refine a half-precision generator only."""
    if dtype == torch.float32:
        return {}
    return {name: DTYPES[value] for name, value in getattr(family, "COMPONENT_DTYPES", {}).items()}


def cast_module(module: torch.nn.Module, dtype: torch.dtype) -> None:
    """Cast `module` to `dtype`, keeping what the model marks float32 (`_keep_in_fp32_modules`) in float32."""
    torch.nn.Module.to(module, dtype)  # ModelMixin.to warns about exactly what the loop below fixes
    keep = set(getattr(module, "_keep_in_fp32_modules", None) or [])
    for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
        if tensor.is_floating_point() and keep.intersection(name.split(".")):
            tensor.data = tensor.data.float()


def call_arguments(generator: "Generator", overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pipeline keyword arguments for `generator` with a job's `overrides` on top (prompt and seed aside)."""
    family = family_of(generator)
    arguments: dict[str, Any] = {name: getattr(generator, name) for name in _CALL_FIELDS}
    if not arguments["negative_prompt"]:
        del arguments["negative_prompt"]
    fps = generator.fps
    components = getattr(family, "COMPONENTS", {})
    arguments.update({k: v for k, v in (generator.extra_params or {}).items() if k not in components})
    for name, value in (overrides or {}).items():
        if name == "fps":
            fps = value
        else:
            arguments[name] = value
    fps_argument = getattr(family, "FPS_ARGUMENT", None)
    if fps_argument:
        arguments.setdefault(fps_argument, fps)
    return arguments


def validate_params(generator: "Generator", params: dict[str, Any] | None = None) -> None:
    """Raise ValueError with a plain message when `generator` plus `params` would not make a video.

    Checks argument names against the pipeline class, and frame count and size against the family's
    rules (so a bad job fails before it reaches a GPU). Call it before queueing a job.
    """
    if params is not None and not isinstance(params, dict):
        raise ValueError("parameters must be a JSON object")
    family = family_of(generator)
    arguments = call_arguments(generator, params)
    accepted = set(inspect.signature(_pipeline_class(generator).__call__).parameters) - {"self"}
    reserved = sorted(set(arguments) & _RESERVED)
    if reserved:
        raise ValueError(f"{', '.join(reserved)} cannot be set as a parameter: the platform sets it")
    unknown = sorted(set(arguments) - accepted)
    if unknown:
        raise ValueError(f"{generator.pipeline_class or family.PIPELINE_CLASS} takes no argument(s) "
                         f"{', '.join(unknown)}")
    for name in ("num_frames", "height", "width", "num_inference_steps"):
        if not isinstance(arguments[name], int) or isinstance(arguments[name], bool) or arguments[name] < 1:
            raise ValueError(f"{name} must be a positive integer, got {arguments[name]!r}")
    frames = arguments["num_frames"]
    if (frames - 1) % family.FRAME_MULTIPLE:
        raise ValueError(f"{generator.family} makes 1 + a multiple of {family.FRAME_MULTIPLE} frames "
                         f"(e.g. {1 + family.FRAME_MULTIPLE * max(1, (frames - 1) // family.FRAME_MULTIPLE)}), "
                         f"got {frames}")
    for name in ("height", "width"):
        if arguments[name] % family.SIZE_MULTIPLE:
            raise ValueError(f"{generator.family} needs {name} to be a multiple of {family.SIZE_MULTIPLE}, "
                             f"got {arguments[name]}")


def generate_frames(pipe, generator: "Generator", prompts: list[str], seeds: list[int],
                    overrides: dict[str, Any] | None = None) -> list[np.ndarray]:
    """One video per (prompt, seed), each (T, H, W, 3) uint8; the same seed gives the same frames.

    Every prompt gets its own torch.Generator, so a prompt's video does not depend on what it was
    batched with. Families with SUPPORTS_BATCH take all prompts in one pipeline call; the caller
    decides how many to group (all share `overrides`).
    """
    from generation.encoding import to_uint8_frames

    if len(prompts) != len(seeds):
        raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
    if not prompts:
        return []
    validate_params(generator, overrides)
    family = family_of(generator)
    arguments = call_arguments(generator, overrides)
    negative = arguments.pop("negative_prompt", None)
    groups = [list(range(len(prompts)))] if family.SUPPORTS_BATCH else [[i] for i in range(len(prompts))]
    videos: list[np.ndarray] = []
    for group in groups:
        call = dict(arguments)
        if negative:
            call["negative_prompt"] = [negative] * len(group)
        # Tiny twins truncate prompts to their toy tokenizers; that warning means nothing for them.
        quiet = diffusers_log_level(logging.ERROR) if generator.is_tiny else contextlib.nullcontext()
        with quiet:
            output = pipe(
                prompt=[prompts[i] for i in group],
                generator=[torch.Generator("cpu").manual_seed(int(seeds[i])) for i in group],
                output_type="np",
                **call,
            )
        videos.extend(to_uint8_frames(video) for video in output.frames)
    return videos


def default_generators() -> list[dict[str, Any]]:
    """The Generator rows the platform ships: each published checkpoint (disabled) and one tiny twin per family."""
    rows = []
    for key, family in FAMILIES.items():
        for name, (checkpoint, changes) in family.CHECKPOINTS.items():
            rows.append({
                "name": name, "family": key, "pipeline_class": family.PIPELINE_CLASS, "checkpoint": checkpoint,
                "memory_options": {}, "extra_params": {}, "enabled": False, **family.DEFAULTS, **changes,
            })
        rows.append({
            "name": f"tiny-{key}", "family": key, "pipeline_class": family.PIPELINE_CLASS, "checkpoint": "",
            "memory_options": {}, "extra_params": {}, "enabled": True, **family.TINY,
        })
    return rows
