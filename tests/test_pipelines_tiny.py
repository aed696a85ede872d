"""Every family's tiny twin runs end to end through the pipelines API: the real diffusers pipeline
class, real (noisy) frames of the configured size, and seeds that decide the video."""

import diffusers
import numpy as np
import pytest
import torch

from generation.models import Generator
from generation.pipelines import FAMILIES, default_generators, generate_frames, load_pipeline

TINY_ROWS = {row["family"]: row for row in default_generators() if not row["checkpoint"]}


@pytest.fixture(scope="module", autouse=True)
def few_threads():
    """The tiny models gain nothing from threads, and idle OpenMP threads spin on a loaded shared box."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def tiny(request):
    generator = Generator(**{k: v for k, v in TINY_ROWS[request.param].items() if k != "enabled"})
    return generator, load_pipeline(generator, device="cpu")


def test_every_family_ships_a_tiny_twin():
    assert set(TINY_ROWS) == set(FAMILIES)
    assert {row["name"] for row in TINY_ROWS.values()} == {f"tiny-{family}" for family in FAMILIES}


def test_tiny_is_the_real_pipeline_class(tiny):
    generator, pipe = tiny
    assert type(pipe) is getattr(diffusers, FAMILIES[generator.family].PIPELINE_CLASS)


def test_frames_have_the_configured_count_size_and_type(tiny):
    generator, pipe = tiny
    [video] = generate_frames(pipe, generator, ["a red car driving through a city at night"], [3])
    assert video.shape == (generator.num_frames, generator.height, generator.width, 3)
    assert video.dtype == np.uint8
    assert video.std() > 1.0  # real (noisy) pixels, not a blank frame


def test_overrides_change_the_video_size(tiny):
    generator, pipe = tiny
    family = FAMILIES[generator.family]
    frames = generator.num_frames + family.FRAME_MULTIPLE
    width = generator.width + family.SIZE_MULTIPLE
    [video] = generate_frames(pipe, generator, ["a dog"], [1], {"num_frames": frames, "width": width})
    assert video.shape == (frames, generator.height, width, 3)


def test_same_seed_gives_identical_frames(tiny):
    generator, pipe = tiny
    [first] = generate_frames(pipe, generator, ["a cat sitting on a house"], [42])
    [second] = generate_frames(pipe, generator, ["a cat sitting on a house"], [42])
    np.testing.assert_array_equal(first, second)


def test_different_seeds_give_different_frames(tiny):
    generator, pipe = tiny
    first, second = generate_frames(pipe, generator, ["a bird flying"] * 2, [1, 2])
    assert (first != second).mean() > 0.1


def test_a_batch_equals_the_single_runs(tiny):
    generator, pipe = tiny
    prompts, seeds = ["a man walking in the forest", "fire on the sea at night"], [5, 6]
    batch = generate_frames(pipe, generator, prompts, seeds)
    singles = [generate_frames(pipe, generator, [p], [s])[0] for p, s in zip(prompts, seeds, strict=True)]
    for together, alone in zip(batch, singles, strict=True):
        # A batched matmul may round a last float bit differently: a rare 1/255 step, never more.
        difference = np.abs(together.astype(int) - alone.astype(int))
        assert difference.max() <= 1
        assert (difference > 0).mean() < 0.01


def weights(pipe) -> dict[str, torch.Tensor]:
    return {f"{component}.{name}": tensor for component, module in pipe.components.items()
            if isinstance(module, torch.nn.Module) for name, tensor in module.state_dict().items()}


def test_the_tiny_weights_are_a_function_of_the_build_seed(tiny):
    generator, _ = tiny
    family = FAMILIES[generator.family]
    state = torch.get_rng_state()
    first, again, other = family.build_tiny(0), family.build_tiny(0), family.build_tiny(1)
    assert torch.equal(torch.get_rng_state(), state)  # building leaves the caller's RNG alone
    assert weights(first).keys() == weights(other).keys()
    assert all(torch.equal(w, weights(again)[name]) for name, w in weights(first).items())
    assert not all(torch.equal(w, weights(other)[name]) for name, w in weights(first).items())


def test_prompts_and_seeds_must_pair_up(tiny):
    generator, pipe = tiny
    with pytest.raises(ValueError, match="2 prompts but 1 seeds"):
        generate_frames(pipe, generator, ["a", "b"], [1])
