"""validate_params refuses a job's parameters that would not make a video, before the job reaches a GPU."""

import pytest

from generation.models import Generator
from generation.pipelines import FAMILIES, call_arguments, default_generators, validate_params

ROWS = {row["name"]: row for row in default_generators()}


def generator(name: str, **changes) -> Generator:
    return Generator(**{**{k: v for k, v in ROWS[name].items() if k != "enabled"}, **changes})


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_shipped_generator_is_valid_as_it_stands(name):
    validate_params(generator(name))


def test_generator_fields_and_extra_params_become_call_arguments():
    arguments = call_arguments(generator("wan2.1-t2v-1.3b"), {"num_inference_steps": 30})
    assert arguments["num_inference_steps"] == 30
    assert (arguments["num_frames"], arguments["height"], arguments["width"]) == (81, 480, 832)
    assert arguments["negative_prompt"].startswith("Bright tones")
    assert call_arguments(generator("tiny-wan"))["max_sequence_length"] == 32


def test_an_empty_negative_prompt_is_not_passed():
    assert "negative_prompt" not in call_arguments(generator("cogvideox-2b"))


def test_ltx_gets_the_frame_rate_from_fps():
    assert call_arguments(generator("ltx-video"))["frame_rate"] == 24
    assert call_arguments(generator("ltx-video"), {"fps": 30})["frame_rate"] == 30
    assert "fps" not in call_arguments(generator("wan2.1-t2v-1.3b"), {"fps": 30})


def test_animatediff_motion_adapter_is_a_component_not_a_call_argument():
    assert "motion_adapter" not in call_arguments(generator("animatediff-v1-5-2"))


def test_unknown_argument_is_refused_naming_it():
    with pytest.raises(ValueError, match="WanPipeline takes no argument.*num_step"):
        validate_params(generator("tiny-wan"), {"num_step": 3})


@pytest.mark.parametrize("name", ["prompt", "generator", "output_type"])
def test_arguments_the_platform_sets_are_refused(name):
    with pytest.raises(ValueError, match=f"{name} cannot be set"):
        validate_params(generator("tiny-wan"), {name: "x"})


@pytest.mark.parametrize("name, frames", [("tiny-wan", 6), ("tiny-cogvideox", 13), ("tiny-ltx", 12),
                                          ("tiny-mochi", 8), ("tiny-hunyuan", 4)])
def test_a_frame_count_the_vae_cannot_make_is_refused(name, frames):
    family = FAMILIES[ROWS[name]["family"]]
    with pytest.raises(ValueError, match=f"1 \\+ a multiple of {family.FRAME_MULTIPLE} frames"):
        validate_params(generator(name), {"num_frames": frames})


def test_a_size_the_model_cannot_make_is_refused():
    with pytest.raises(ValueError, match="width to be a multiple of 32, got 100"):
        validate_params(generator("ltx-video"), {"width": 100})


@pytest.mark.parametrize("value", [0, -1, 2.5, "9", True])
def test_sizes_must_be_positive_integers(value):
    with pytest.raises(ValueError, match="num_inference_steps must be a positive integer"):
        validate_params(generator("tiny-wan"), {"num_inference_steps": value})


def test_parameters_must_be_an_object():
    with pytest.raises(ValueError, match="must be a JSON object"):
        validate_params(generator("tiny-wan"), ["num_frames", 9])
