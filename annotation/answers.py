"""One crowdworker's answers for one pair: the input shape, and its validation.

The REST API and the HTML form send the same shape (the form through `answers_from_form`):

    {
      "instruction_following": "video_0",      # stage 1, helpfulness, each "video_0" or "video_1"
      "correctness": "video_1",
      "informativeness": "video_0",
      "aesthetics": "video_0",
      "video_0": {"is_safe": true,  "categories": []},            # stage 1, harmlessness per video:
      "video_1": {"is_safe": false, "categories": ["violence"]},  # harm keys from safesora.taxonomy
      "helpfulness": "video_0",                 # stage 2, overall
      "harmlessness": "video_0",
      "confirm_safe_with_labels": false         # optional, see below
    }

Rules: every pairwise question is answered with "video_0" (left) or "video_1" (right); each
video has `is_safe` (a boolean) and `categories` (a list of harm keys, no unknown keys); a video
marked unsafe needs at least one category; a video marked safe with categories is accepted only
with `"confirm_safe_with_labels": true` (the annotator confirmed that the content touches a
category but is still safe).

`clean_answers` returns the field values of annotation.models.Judgement, or raises AnswerError
whose `errors` maps a field to one message. Error keys are the HTML form's field names:
a question's name, `video_0_is_safe`, `video_0_categories` (same for video_1),
`confirm_safe_with_labels`, and `answers` for a body that is not an object at all.
"""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from safesora.taxonomy import HARM_BY_KEY, HARM_KEYS, PREFERENCE_QUESTIONS, VIDEO_CHOICES, empty_labels

VIDEOS: tuple[str, ...] = VIDEO_CHOICES  # "video_0" (left), "video_1" (right)
TOP_LEVEL_KEYS = frozenset(PREFERENCE_QUESTIONS) | frozenset(VIDEOS) | {"confirm_safe_with_labels"}
VIDEO_KEYS = frozenset({"is_safe", "categories"})


class AnswerError(ValidationError):
    """Invalid answers. `errors` maps each bad field to a message a person can act on."""

    def __init__(self, errors: dict[str, str]):
        super().__init__({field: [message] for field, message in errors.items()})
        self.errors = dict(errors)


def _boolean(value: Any) -> bool | None:
    """True/False for a JSON boolean or the strings an HTML form sends; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on", "safe"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "unsafe"}:
        return False
    return None


def clean_answers(data: Any) -> dict[str, Any]:
    """Validate one submission (shape in the module docstring); return Judgement field values."""
    if not isinstance(data, Mapping):
        raise AnswerError({"answers": _("Answers must be an object with one entry per question.")})
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    unknown = sorted(str(k) for k in data if k not in TOP_LEVEL_KEYS)
    if unknown:
        errors["answers"] = _("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)}

    for question in PREFERENCE_QUESTIONS:
        answer = data.get(question)
        if answer in (None, ""):
            errors[question] = _("Choose the left or the right video.")
        elif answer not in VIDEO_CHOICES:
            errors[question] = _("Must be video_0 or video_1, not %(value)r.") % {"value": answer}
        else:
            values[question] = answer

    confirm = data.get("confirm_safe_with_labels", False)
    confirmed = _boolean(confirm) if confirm not in (None, "") else False
    if confirmed is None:
        errors["confirm_safe_with_labels"] = _("Must be true or false.")

    for video in VIDEOS:
        entry = data.get(video)
        if entry is None:
            errors[f"{video}_is_safe"] = _("Say whether this video is safe.")
            continue
        if not isinstance(entry, Mapping):
            errors[f"{video}_is_safe"] = _("Must be an object with is_safe and categories.")
            continue
        extra = sorted(str(k) for k in entry if k not in VIDEO_KEYS)
        if extra:
            errors[f"{video}_categories"] = _("Unknown fields: %(fields)s.") % {"fields": ", ".join(extra)}
            continue
        is_safe = _boolean(entry.get("is_safe")) if entry.get("is_safe") not in (None, "") else None
        if is_safe is None:
            errors[f"{video}_is_safe"] = _("Say whether this video is safe.")
        categories = entry.get("categories") or []
        if isinstance(categories, str):
            categories = [categories]
        if not isinstance(categories, list | tuple) or not all(isinstance(c, str) for c in categories):
            errors[f"{video}_categories"] = _("Must be a list of harm category keys.")
            continue
        bad = [c for c in categories if c not in HARM_BY_KEY]
        if bad:
            errors[f"{video}_categories"] = _("Unknown harm categories: %(keys)s (expected some of %(all)s).") % {
                "keys": ", ".join(bad), "all": ", ".join(HARM_KEYS)}
            continue
        if is_safe is False and not categories:
            errors[f"{video}_categories"] = _("A video marked unsafe needs at least one harm category.")
        elif is_safe is True and categories and not confirmed:
            errors[f"{video}_categories"] = _(
                "This video is marked safe but has harm categories: clear them, mark it unsafe, "
                "or confirm that it is safe anyway.")
        labels = empty_labels()
        for key in categories:
            labels[key] = True
        values[f"{video}_is_safe"] = is_safe
        values[f"{video}_labels"] = labels

    if errors:
        raise AnswerError(errors)
    return values


def answers_from_form(post: Mapping[str, Any]) -> dict[str, Any]:
    """Turn an HTML form's POST (a QueryDict) into the shape clean_answers reads.

    Form fields: one radio per question (value video_0/video_1), `video_0_is_safe` /
    `video_1_is_safe` (radio, "true"/"false"), `video_0_categories` / `video_1_categories`
    (checkboxes, one value per harm key), `confirm_safe_with_labels` (checkbox).
    """
    getlist = getattr(post, "getlist", lambda key: post.get(key) or [])
    data: dict[str, Any] = {q: post.get(q) for q in PREFERENCE_QUESTIONS}
    for video in VIDEOS:
        data[video] = {"is_safe": post.get(f"{video}_is_safe"), "categories": list(getlist(f"{video}_categories"))}
    data["confirm_safe_with_labels"] = post.get("confirm_safe_with_labels") or False
    return data


def judgement_as_answers(judgement: Any) -> dict[str, Any]:
    """The inverse of clean_answers: a saved Annotation or Review in the input shape."""
    data: dict[str, Any] = {q: getattr(judgement, q) for q in PREFERENCE_QUESTIONS}
    for video in VIDEOS:
        labels = getattr(judgement, f"{video}_labels") or {}
        data[video] = {"is_safe": getattr(judgement, f"{video}_is_safe"),
                       "categories": [k for k in HARM_KEYS if labels.get(k)]}
    return data


# Keys a gold pair may name: the Judgement fields a submission produces (clean_answers' output).
GOLD_KEYS: tuple[str, ...] = (*PREFERENCE_QUESTIONS, *(f"{v}_is_safe" for v in VIDEOS),
                              *(f"{v}_labels" for v in VIDEOS))


def clean_gold_answers(gold: Any) -> dict[str, Any]:
    """Validate a gold pair's known answers; return them in the one form grading compares.

    Accepted: an object naming some of GOLD_KEYS: a question ("harmlessness": "video_1"),
    `video_N_is_safe` (true/false, strictly a boolean: 0 is not false), `video_N_labels`
    (an object of some harm keys to booleans; only the keys given are compared). Raises
    ValidationError with every problem; nothing else is accepted, so grading cannot depend on
    how a database compares values of different types.
    """
    if not isinstance(gold, Mapping) or not gold:
        raise ValidationError(_("Gold answers must be a non-empty object, e.g. {\"harmlessness\": \"video_1\"}."))
    errors: list[str] = []
    cleaned: dict[str, Any] = {}
    for key, value in gold.items():
        if key not in GOLD_KEYS:
            errors.append(_("Unknown gold key %(key)r; expected some of %(keys)s.") % {
                "key": key, "keys": ", ".join(GOLD_KEYS)})
        elif key in PREFERENCE_QUESTIONS:
            if value not in VIDEO_CHOICES:
                errors.append(_("%(key)s must be video_0 or video_1, not %(value)r.") % {"key": key, "value": value})
            else:
                cleaned[key] = value
        elif key.endswith("_is_safe"):
            if not isinstance(value, bool):
                errors.append(_("%(key)s must be true or false, not %(value)r.") % {"key": key, "value": value})
            else:
                cleaned[key] = value
        elif not isinstance(value, Mapping) or not value:
            errors.append(_("%(key)s must be a non-empty object of harm keys to true/false.") % {"key": key})
        else:
            bad = [k for k, v in value.items() if k not in HARM_BY_KEY or not isinstance(v, bool)]
            if bad:
                errors.append(_("%(key)s: %(bad)s must be harm keys (%(keys)s) with true or false.") % {
                    "key": key, "bad": ", ".join(map(str, bad)), "keys": ", ".join(HARM_KEYS)})
            else:
                cleaned[key] = dict(value)
    if errors:
        raise ValidationError(errors)
    return cleaned


def contains(container: Any, contained: Any) -> bool:
    """JSON containment, PostgreSQL's `contained <@ container` for objects and scalars.

    The one rule of gold grading: the gold answers (clean_gold_answers' form) must be contained
    in the cleaned answers (clean_answers' form). The engine's PostgreSQL submit statement
    evaluates it with jsonb `<@`, the ORM path (SQLite) with this function; a scalar matches
    only a scalar of the same JSON type (true is not 1).
    """
    if isinstance(contained, Mapping):
        return isinstance(container, Mapping) and all(
            k in container and contains(container[k], v) for k, v in contained.items())
    return type(container) is type(contained) and container == contained


def grade_gold(values: dict[str, Any], gold_answers: Mapping[str, Any]) -> bool:
    """Whether cleaned answers match a gold pair's known answers (validated by clean_gold_answers)."""
    return contains(values, gold_answers)


# The input shape as JSON Schema, for the OpenAPI document (annotation.api). clean_answers is
# the one validator; the schema states its rules so that whatever a client generated from the
# schema sends is accepted (tests/test_api_fuzz.py checks both ways): an unsafe video needs a
# category (if/then on is_safe), categories are distinct harm keys, and a safe video with
# categories needs "confirm_safe_with_labels": true.
def _video_schema(video: str) -> dict[str, Any]:
    return {
        "type": "object", "required": ["is_safe"], "additionalProperties": False,
        "description": f"harmlessness of {video}; unsafe needs at least one category",
        "properties": {"is_safe": {"type": "boolean"},
                       "categories": {"type": "array", "default": [], "uniqueItems": True,
                                      "maxItems": len(HARM_KEYS),
                                      "items": {"type": "string", "enum": list(HARM_KEYS)}}},
        "if": {"properties": {"is_safe": {"const": False}}},
        "then": {"required": ["is_safe", "categories"], "properties": {"categories": {"minItems": 1}}},
    }


def _safe_with_labels_needs_confirm(video: str) -> dict[str, Any]:
    return {
        "if": {"required": [video], "properties": {video: {
            "required": ["is_safe", "categories"],
            "properties": {"is_safe": {"const": True}, "categories": {"minItems": 1}}}}},
        "then": {"required": ["confirm_safe_with_labels"], "properties": {"confirm_safe_with_labels": {"const": True}}},
    }


ANSWERS_JSON_SCHEMA: dict[str, Any] = {
    "title": "Answers",
    "type": "object",
    "required": [*PREFERENCE_QUESTIONS, *VIDEOS],
    "additionalProperties": False,
    "properties": {
        **{q: {"type": "string", "enum": list(VIDEO_CHOICES),
               "description": "video_0 (left) or video_1 (right)"} for q in PREFERENCE_QUESTIONS},
        **{v: _video_schema(v) for v in VIDEOS},
        "confirm_safe_with_labels": {"type": "boolean", "default": False,
                                     "description": "required true when a video marked safe has categories"},
    },
    "allOf": [_safe_with_labels_needs_confirm(v) for v in VIDEOS],
}
