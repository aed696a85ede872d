"""The optional prompt refiner: off by default, chosen by setting, its text is what the generator is fed."""

import pytest
import torch
from django.core.exceptions import ImproperlyConfigured

from generation.refiner import TransformersRefiner, refine_prompt, template_refiner

PROMPT = "A man walking his dog in the city"


def shout(text: str) -> str:
    return text.upper()


def say_nothing(text: str) -> str:
    return "  "


def test_refinement_is_off_by_default(settings):
    assert settings.PROMPT_REFINER == ""
    assert refine_prompt(PROMPT) == PROMPT


def test_the_configured_refiner_is_applied(settings):
    settings.PROMPT_REFINER = "tests.test_prompt_refiner.shout"
    assert refine_prompt(PROMPT) == PROMPT.upper()


def test_the_template_refiner_keeps_the_prompt_and_adds_clauses(settings):
    settings.PROMPT_REFINER = "generation.refiner.template_refiner"
    refined = refine_prompt(PROMPT)
    assert refined.startswith(PROMPT + ". ")
    assert refined.endswith("smooth natural motion.")
    assert len(refined) > len(PROMPT) + 40
    assert refine_prompt(PROMPT) == refined  # deterministic
    assert template_refiner("  a   cat  ") == template_refiner("a cat")
    assert template_refiner("a cat") != template_refiner("a dog on a red car")


def test_the_template_refiner_refuses_an_empty_prompt():
    with pytest.raises(ValueError, match="empty prompt"):
        template_refiner("   ")


def test_a_refiner_that_returns_nothing_is_a_clear_error(settings):
    settings.PROMPT_REFINER = "tests.test_prompt_refiner.say_nothing"
    with pytest.raises(ValueError, match="returned no text"):
        refine_prompt(PROMPT)


def test_a_refiner_that_does_not_exist_is_a_configuration_error(settings):
    settings.PROMPT_REFINER = "generation.refiner.no_such_refiner"
    with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
        refine_prompt(PROMPT)


def test_options_go_to_a_refiner_class_only(settings):
    settings.PROMPT_REFINER = "generation.refiner.template_refiner"
    settings.PROMPT_REFINER_OPTIONS = {"model": "x"}
    with pytest.raises(ImproperlyConfigured, match="takes no PROMPT_REFINER_OPTIONS"):
        refine_prompt(PROMPT)
    settings.PROMPT_REFINER = "generation.refiner.TransformersRefiner"
    settings.PROMPT_REFINER_OPTIONS = {}
    with pytest.raises(ImproperlyConfigured, match="do not fit.*model"):
        refine_prompt(PROMPT)  # the class needs its model


def test_the_transformers_refiner_runs_a_local_model(settings, tmp_path):
    """A tiny random causal LM saved to disk stands in for a real instruct model (nothing is downloaded)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from generation.pipelines.tiny import llama_tokenizer

    tokenizer = llama_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                         num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                         pad_token_id=tokenizer.pad_token_id))
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    settings.PROMPT_REFINER = "generation.refiner.TransformersRefiner"
    settings.PROMPT_REFINER_OPTIONS = {"model": str(tmp_path), "max_new_tokens": 8}
    first, second = refine_prompt(PROMPT), refine_prompt(PROMPT)
    assert first and first == second  # greedy decoding: reproducible
    assert TransformersRefiner(model=str(tmp_path), max_new_tokens=8)(PROMPT) == first
