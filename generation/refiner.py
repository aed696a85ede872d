"""Optional prompt refinement before generation (SafeSora generated from original and refined prompts).

Off by default. The setting PROMPT_REFINER names a refiner by dotted path: a callable
`refine(prompt_text) -> str`, or a class that PROMPT_REFINER_OPTIONS (a dict) is passed to and
whose instances are such callables. The text a refiner returns is what the generator is fed, and
what a Video stores as `video_text`. Shipped refiners:

- `generation.refiner.template_refiner`: no model; expands the prompt with a camera, a light and a
  detail clause chosen from the prompt's hash (deterministic).
- `generation.refiner.TransformersRefiner`: a transformers text-generation model from a local path
  or hub id (PROMPT_REFINER_OPTIONS = {"model": "..."}), asked to rewrite the prompt.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

Refiner = Callable[[str], str]

_CAMERA = (
    "Cinematic wide shot", "Medium shot at eye level", "Slow tracking shot", "Handheld close-up",
    "Smooth aerial view", "Static shot on a tripod",
)
_LIGHT = (
    "soft natural daylight", "warm golden-hour light", "overcast diffuse light", "moody low-key lighting",
    "bright studio lighting", "cool blue evening light",
)
_DETAIL = (
    "realistic textures and fine detail", "sharp focus with shallow depth of field", "vivid yet natural colours",
    "high detail, 4K, film grain", "true-to-life proportions and materials", "crisp detail in the background",
)


def template_refiner(prompt_text: str) -> str:
    """Expand a prompt with one camera, one light and one detail clause; the same prompt always gives the same text."""
    text = " ".join(prompt_text.split())
    if not text:
        raise ValueError("cannot refine an empty prompt")
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    camera, light, detail = (options[digest[i] % len(options)] for i, options in enumerate((_CAMERA, _LIGHT, _DETAIL)))
    if text[-1] not in ".!?":
        text += "."
    return f"{text} {camera}, {light}, {detail}, smooth natural motion."


class TransformersRefiner:
    """Rewrite prompts with a transformers text-generation model (a small instruct LLM works well).

    The model loads on first use and stays loaded for the process. Greedy decoding, so a prompt's
    refinement is reproducible on the same model and hardware.
    """

    INSTRUCTION = (
        "Rewrite the following text-to-video prompt as one vivid, concrete paragraph of at most 60 words. "
        "Keep every subject, action and detail of the original, add camera, lighting and setting. "
        "Answer with the rewritten prompt only.\n\nPrompt: {prompt}"
    )

    def __init__(self, model: str, max_new_tokens: int = 120, device: str | None = None,
                 instruction: str | None = None, dtype: str = "auto"):
        if not model:
            raise ImproperlyConfigured("TransformersRefiner needs PROMPT_REFINER_OPTIONS {\"model\": <path or hub id>}")
        self.model, self.max_new_tokens, self.device, self.dtype = model, max_new_tokens, device, dtype
        self.instruction = instruction or self.INSTRUCTION

    @functools.cached_property
    def generator(self):
        from transformers import pipeline

        return pipeline("text-generation", model=self.model, device=self.device, dtype=self.dtype)

    def __call__(self, prompt_text: str) -> str:
        text = " ".join(prompt_text.split())
        if not text:
            raise ValueError("cannot refine an empty prompt")
        request = self.instruction.format(prompt=text)
        tokenizer = self.generator.tokenizer
        if getattr(tokenizer, "chat_template", None):
            request = tokenizer.apply_chat_template([{"role": "user", "content": request}], tokenize=False,
                                                    add_generation_prompt=True)
        [output] = self.generator(request, max_new_tokens=self.max_new_tokens, do_sample=False,
                                  return_full_text=False)
        return " ".join(output["generated_text"].split())


@functools.cache
def _load(path: str, options_json: str) -> Refiner:
    try:
        target = import_string(path)
    except ImportError as error:
        raise ImproperlyConfigured(f"PROMPT_REFINER {path!r} cannot be imported: {error}") from None
    options = json.loads(options_json)
    if isinstance(target, type):
        try:
            return target(**options)
        except TypeError as error:
            raise ImproperlyConfigured(f"PROMPT_REFINER_OPTIONS do not fit {path}: {error}") from None
    if options:
        raise ImproperlyConfigured(f"PROMPT_REFINER {path!r} is a function: it takes no PROMPT_REFINER_OPTIONS")
    if not callable(target):
        raise ImproperlyConfigured(f"PROMPT_REFINER {path!r} is not callable")
    return target


def get_refiner() -> Refiner | None:
    """The configured refiner (built once per process), or None when refinement is off."""
    path = getattr(settings, "PROMPT_REFINER", "")
    if not path:
        return None
    options: dict[str, Any] = getattr(settings, "PROMPT_REFINER_OPTIONS", {}) or {}
    return _load(path, json.dumps(options, sort_keys=True))


def refine_prompt(text: str) -> str:
    """The text to feed the generator for a prompt: the configured refiner's output, or the prompt itself."""
    refiner = get_refiner()
    if refiner is None:
        return text
    refined = refiner(text)
    if not isinstance(refined, str) or not refined.strip():
        raise ValueError(f"prompt refiner {settings.PROMPT_REFINER} returned no text for {text[:60]!r}")
    return refined.strip()
