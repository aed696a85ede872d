"""Memory and speed switches of a loaded pipeline, named as a Generator's `memory_options` names them.

Every switch maps onto one diffusers call; docs/generators.md explains when each one helps.
Placement (which device the weights live on) is decided here too, because offloading and
`pipe.to(device)` exclude each other.
"""

from typing import Any

import torch

# Switches that decide where weights live; at most one of them.
PLACEMENT = ("model_cpu_offload", "sequential_cpu_offload", "group_offload")
SWITCHES = PLACEMENT + (
    "vae_tiling", "vae_slicing", "attention_backend", "cache", "layerwise_casting", "compile_repeated_blocks",
)
# What a worker turns on after a CUDA out-of-memory error.
OOM_FALLBACK = {"model_cpu_offload": True, "vae_tiling": True}

_CACHES = {
    "first_block": "FirstBlockCacheConfig",
    "pyramid_attention_broadcast": "PyramidAttentionBroadcastConfig",
    "taylorseer": "TaylorSeerCacheConfig",
}


def denoiser(pipe) -> torch.nn.Module:
    """The model that runs once per step: the transformer, or the UNet of UNet families."""
    model = getattr(pipe, "transformer", None) or getattr(pipe, "unet", None)
    if model is None:
        raise ValueError(f"{type(pipe).__name__} has neither a transformer nor a unet")
    return model


def validate_memory_options(options: dict[str, Any]) -> None:
    """Raise ValueError naming the problem when `options` holds an unknown switch or a bad value."""
    if not isinstance(options, dict):
        raise ValueError(f"memory options must be a JSON object, got {type(options).__name__}")
    unknown = sorted(set(options) - set(SWITCHES))
    if unknown:
        raise ValueError(f"unknown memory option(s) {', '.join(unknown)}; known: {', '.join(SWITCHES)}")
    placement = [name for name in PLACEMENT if options.get(name)]
    if len(placement) > 1:
        raise ValueError(f"choose one of {', '.join(placement)}: they place the weights in different ways")
    for name in ("model_cpu_offload", "sequential_cpu_offload", "vae_tiling", "vae_slicing"):
        if name in options and not isinstance(options[name], bool):
            raise ValueError(f"memory option {name} must be true or false, got {options[name]!r}")
    for name in ("group_offload", "compile_repeated_blocks"):
        if name in options and not isinstance(options[name], bool | dict):
            raise ValueError(f"memory option {name} must be true, false or an object of arguments")
    if "attention_backend" in options and not isinstance(options["attention_backend"], str):
        raise ValueError("memory option attention_backend must be a backend name such as \"native\" or \"flash\"")
    if "layerwise_casting" in options and options["layerwise_casting"] not in (False, None):
        _storage_dtype(options["layerwise_casting"])
    if options.get("cache"):
        _cache_type_and_arguments(options["cache"])


def apply_memory_options(pipe, options: dict[str, Any], device: str | None = None) -> None:
    """Apply `options` to `pipe` and place it on `device` (unless an offload switch places it).

    With `device` None nothing is moved except by offloading, which targets the accelerator.
    """
    validate_memory_options(options)
    model = denoiser(pipe)
    if options.get("attention_backend"):
        model.set_attention_backend(options["attention_backend"])
    if options.get("cache"):
        model.enable_cache(_cache_config(pipe, options["cache"]))
    if options.get("layerwise_casting"):
        model.enable_layerwise_casting(storage_dtype=_storage_dtype(options["layerwise_casting"]),
                                       compute_dtype=model.dtype)
    vae = getattr(pipe, "vae", None)
    for name, method in (("vae_tiling", "enable_tiling"), ("vae_slicing", "enable_slicing")):
        if options.get(name):
            if not hasattr(vae, method):
                raise ValueError(f"{type(pipe).__name__}'s VAE does not support {name}")
            getattr(vae, method)()
    _place(pipe, options, device)
    if options.get("compile_repeated_blocks"):
        arguments = options["compile_repeated_blocks"]
        if not getattr(model, "_repeated_blocks", None):
            raise ValueError(f"{type(model).__name__} declares no repeated blocks; compile_repeated_blocks "
                             "does not apply to this family")
        model.compile_repeated_blocks(**(arguments if isinstance(arguments, dict) else {}))


def _place(pipe, options: dict[str, Any], device: str | None) -> None:
    if options.get("model_cpu_offload") or options.get("sequential_cpu_offload"):
        target = _accelerator(device, "model_cpu_offload" if options.get("model_cpu_offload") else
                              "sequential_cpu_offload")
        if options.get("model_cpu_offload"):
            pipe.enable_model_cpu_offload(device=target)
        else:
            pipe.enable_sequential_cpu_offload(device=target)
    elif options.get("group_offload"):
        arguments = {"offload_type": "block_level", "num_blocks_per_group": 1}
        if isinstance(options["group_offload"], dict):
            arguments.update(options["group_offload"])
        if arguments.get("offload_type") == "leaf_level":
            arguments.pop("num_blocks_per_group", None)
        pipe.enable_group_offload(onload_device=torch.device(_accelerator(device, "group_offload")),
                                  offload_device=torch.device("cpu"), **arguments)
    elif device is not None:
        pipe.to(device)


def _accelerator(device: str | None, switch: str) -> str:
    """Offloading moves weights between CPU and an accelerator: there must be one."""
    target = device or ("cuda" if torch.cuda.is_available() else None)
    if target is None or torch.device(target).type == "cpu":
        raise ValueError(f"memory option {switch} needs a GPU (offloading moves weights from CPU to the GPU); "
                         "turn it off on CPU-only machines")
    return target


def _storage_dtype(value: Any) -> torch.dtype:
    name = "float8_e4m3fn" if value is True else value
    dtype = getattr(torch, name, None) if isinstance(name, str) else None
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"memory option layerwise_casting must be a torch dtype name such as "
                         f"\"float8_e4m3fn\", got {value!r}")
    return dtype


def _cache_type_and_arguments(value: Any) -> tuple[str, dict[str, Any]]:
    """`"first_block"` or `{"type": "first_block", "threshold": 0.1}` -> ("first_block", {"threshold": 0.1})."""
    if value is True:
        value = "first_block"
    if isinstance(value, str):
        kind, arguments = value, {}
    elif isinstance(value, dict):
        arguments = dict(value)
        kind = arguments.pop("type", "first_block")
    else:
        raise ValueError(f"memory option cache must be a cache name or an object with a type, got {value!r}")
    if kind not in _CACHES:
        raise ValueError(f"unknown cache {kind!r}; known: {', '.join(_CACHES)}")
    return kind, arguments


def _cache_config(pipe, value: Any):
    import diffusers

    kind, arguments = _cache_type_and_arguments(value)
    config_class = getattr(diffusers, _CACHES[kind])
    if kind == "pyramid_attention_broadcast":
        arguments.setdefault("spatial_attention_block_skip_range", 2)
        arguments["current_timestep_callback"] = lambda: pipe.current_timestep
    for key in ("spatial_attention_timestep_skip_range", "temporal_attention_timestep_skip_range",
                "cross_attention_timestep_skip_range"):
        if isinstance(arguments.get(key), list):  # JSON has no tuples
            arguments[key] = tuple(arguments[key])
    try:
        return config_class(**arguments)
    except TypeError as error:
        raise ValueError(f"cache {kind}: {error}") from None
