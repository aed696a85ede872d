"""A generator's memory switches apply to its pipeline, and a wrong switch is refused with a clear error."""

import numpy as np
import pytest
import torch

from generation.models import Generator
from generation.pipelines import (
    FAMILIES,
    apply_memory_options,
    default_generators,
    generate_frames,
    load_pipeline,
    validate_memory_options,
)
from generation.pipelines.memory import denoiser

TINY_ROWS = {row["family"]: row for row in default_generators() if not row["checkpoint"]}
# Transformer families carry diffusers' caches; AnimateDiff's UNet does not.
CACHE_FAMILIES = sorted(f for f in FAMILIES if hasattr(denoiser(FAMILIES[f].build_tiny()), "enable_cache"))


@pytest.fixture(autouse=True)
def few_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_generator(family: str, **changes) -> Generator:
    fields = {k: v for k, v in TINY_ROWS[family].items() if k != "enabled"}
    return Generator(**{**fields, **changes})


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_cpu_switches_apply_and_the_video_still_comes_out(family):
    options = {"vae_tiling": True, "vae_slicing": True, "attention_backend": "native", "layerwise_casting": True}
    generator = tiny_generator(family, memory_options=options)
    pipe = load_pipeline(generator, device="cpu")
    assert pipe.vae.use_tiling and pipe.vae.use_slicing
    stored = {p.dtype for p in denoiser(pipe).parameters()}
    assert torch.float8_e4m3fn in stored  # weights kept in 8 bits between uses
    [video] = generate_frames(pipe, generator, ["a horse running"], [0])
    assert video.shape == (generator.num_frames, generator.height, generator.width, 3)


@pytest.mark.parametrize("family", CACHE_FAMILIES)
def test_first_block_cache_is_enabled_on_the_transformer(family):
    generator = tiny_generator(family, memory_options={"cache": {"type": "first_block", "threshold": 0.2}})
    pipe = load_pipeline(generator, device="cpu")
    assert type(pipe.transformer._cache_config).__name__ == "FirstBlockCacheConfig"
    [video] = generate_frames(pipe, generator, ["a horse running"], [0])
    assert video.shape == (generator.num_frames, generator.height, generator.width, 3)


@pytest.mark.parametrize("cache", ["pyramid_attention_broadcast", "taylorseer"])
def test_the_other_caches_apply(cache):
    generator = tiny_generator("wan", num_inference_steps=3, memory_options={"cache": cache})
    pipe = load_pipeline(generator, device="cpu")
    assert pipe.transformer.is_cache_enabled
    [video] = generate_frames(pipe, generator, ["a cat"], [1])
    assert video.shape == (generator.num_frames, generator.height, generator.width, 3)


def test_a_cache_skips_work_and_stays_deterministic():
    plain = tiny_generator("wan", num_inference_steps=3)
    # A threshold nothing reaches: every step after the first reuses the cached blocks.
    cached = tiny_generator("wan", num_inference_steps=3, memory_options={"cache": {"threshold": 1e9}})
    [reference] = generate_frames(load_pipeline(plain, device="cpu"), plain, ["a cat"], [9])
    pipe = load_pipeline(cached, device="cpu")
    first, again = (generate_frames(pipe, cached, ["a cat"], [9])[0] for _ in range(2))
    np.testing.assert_array_equal(first, again)
    assert (first != reference).any()


def test_unknown_switch_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown memory option.*vae_tilling.*known:.*vae_tiling"):
        load_pipeline(tiny_generator("wan", memory_options={"vae_tilling": True}), device="cpu")


@pytest.mark.parametrize("options, message", [
    ({"vae_tiling": "yes"}, "vae_tiling must be true or false"),
    ({"cache": "second_block"}, "unknown cache 'second_block'"),
    ({"attention_backend": 3}, "attention_backend must be a backend name"),
    ({"layerwise_casting": "float9"}, "torch dtype name"),
    ({"model_cpu_offload": True, "group_offload": True}, "choose one of"),
])
def test_bad_switch_values_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        validate_memory_options(options)


def test_bad_values_inside_a_known_switch_are_clear_errors():
    pipe = FAMILIES["wan"].build_tiny()
    with pytest.raises(ValueError, match="cache first_block.*treshold"):
        apply_memory_options(pipe, {"cache": {"type": "first_block", "treshold": 0.1}})
    with pytest.raises(ValueError, match="must be one of"):
        apply_memory_options(FAMILIES["wan"].build_tiny(), {"attention_backend": "no-such-backend"})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_offloading_without_a_gpu_says_so():
    with pytest.raises(ValueError, match="model_cpu_offload needs a GPU"):
        load_pipeline(tiny_generator("wan", memory_options={"model_cpu_offload": True}))


def test_compile_is_refused_where_the_model_has_no_repeated_blocks():
    pipe = FAMILIES["cogvideox"].build_tiny()
    with pytest.raises(ValueError, match="compile_repeated_blocks does not apply"):
        apply_memory_options(pipe, {"compile_repeated_blocks": True})
