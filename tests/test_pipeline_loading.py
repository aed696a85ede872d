"""load_pipeline loads a real checkpoint through from_pretrained (here: a local folder, since nothing may be
downloaded), with the generator's dtype, and a family's second checkpoint where it has one."""

import numpy as np
import pytest
import torch

from generation.models import Generator
from generation.pipelines import FAMILIES, default_generators, generate_frames, load_pipeline

TINY_ROWS = {row["family"]: row for row in default_generators() if not row["checkpoint"]}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def generator_like(tiny_family: str, **changes) -> Generator:
    return Generator(**{**{k: v for k, v in TINY_ROWS[tiny_family].items() if k != "enabled"}, **changes})


def test_a_checkpoint_folder_loads_with_the_generator_dtype_and_the_vae_in_float32(tmp_path):
    FAMILIES["wan"].build_tiny(seed=3).save_pretrained(tmp_path / "wan")
    generator = generator_like("wan", name="wan-local", checkpoint=str(tmp_path / "wan"), dtype="bfloat16")
    pipe = load_pipeline(generator, device="cpu")
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.text_encoder.dtype == torch.bfloat16
    assert pipe.vae.dtype == torch.float32  # Wan's published VAE runs in float32
    [video] = generate_frames(pipe, generator, ["a cat"], [1])
    assert video.shape == (generator.num_frames, generator.height, generator.width, 3)


def test_loaded_weights_give_the_same_video_as_the_pipeline_that_was_saved(tmp_path):
    FAMILIES["ltx"].build_tiny(seed=3).save_pretrained(tmp_path / "ltx")
    saved = generator_like("ltx", name="ltx-local", checkpoint=str(tmp_path / "ltx"))
    [from_disk] = generate_frames(load_pipeline(saved, device="cpu"), saved, ["a dog"], [4])
    [in_memory] = generate_frames(FAMILIES["ltx"].build_tiny(seed=3), saved, ["a dog"], [4])
    np.testing.assert_array_equal(from_disk, in_memory)


def test_animatediff_takes_its_motion_adapter_from_extra_params(tmp_path):
    pipe = FAMILIES["animatediff"].build_tiny()
    pipe.save_pretrained(tmp_path / "base")
    pipe.motion_adapter.save_pretrained(tmp_path / "adapter")
    generator = generator_like("animatediff", name="ad-local", checkpoint=str(tmp_path / "base"),
                               extra_params={"motion_adapter": str(tmp_path / "adapter")})
    loaded = load_pipeline(generator, device="cpu")
    assert loaded.scheduler.config.timestep_spacing == "linspace"  # the authors' scheduler settings
    [video] = generate_frames(loaded, generator, ["a bird flying"], [2])  # motion_adapter is not a call argument
    assert video.shape == (generator.num_frames, generator.height, generator.width, 3)


def test_tiny_generators_honour_a_half_precision_dtype():
    generator = generator_like("wan", dtype="bfloat16")
    pipe = load_pipeline(generator, device="cpu")
    assert pipe.transformer.dtype == torch.bfloat16 and pipe.vae.dtype == torch.float32  # as a checkpoint loads
    # What the model marks float32 stays float32, as from_pretrained keeps it.
    assert pipe.transformer.condition_embedder.time_embedder.linear_1.weight.dtype == torch.float32
    assert pipe.transformer.blocks[0].scale_shift_table.dtype == torch.float32
    [video] = generate_frames(pipe, generator, ["a cat"], [1])
    assert video.dtype == np.uint8 and video.shape[0] == generator.num_frames


def test_a_tiny_generator_must_name_its_family_pipeline_class():
    with pytest.raises(ValueError, match="tiny wan variant is a WanPipeline, not a LTXPipeline"):
        load_pipeline(generator_like("wan", pipeline_class="LTXPipeline"), device="cpu")


def test_an_unknown_pipeline_class_is_a_clear_error():
    generator = generator_like("wan", checkpoint="some/where", pipeline_class="NoSuchPipeline")
    with pytest.raises(ValueError, match="diffusers has no pipeline class 'NoSuchPipeline'"):
        load_pipeline(generator, device="cpu")


def test_an_unknown_family_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown family 'sora'"):
        load_pipeline(generator_like("wan", family="sora"), device="cpu")
