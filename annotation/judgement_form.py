"""The two-stage form as data: its questions, their choices and keyboard shortcuts, and what is
checked. The annotation page and the reviewer page render the same form from this module; the
POST goes through annotation.answers (answers_from_form, clean_answers) on both.

Shortcuts are physical keys (KeyboardEvent.code), so they stay where they are on any keyboard
layout; the labels show the US layout. The pattern: a choice for the left video is on the left
hand, the same choice for the right video on the right hand (Q/P, W/O, ... mirrored).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from safesora.taxonomy import HARM_CATEGORIES, HARM_KEYS, QUESTIONS

SIDES = ("video_0", "video_1")
SIDE_NAMES = {"video_0": _("Left video"), "video_1": _("Right video")}


@dataclass(frozen=True)
class Key:
    code: str  # KeyboardEvent.code, with "Shift+" in front when Shift is held
    label: str  # what the key cap says (US layout)


@dataclass(frozen=True)
class PairwiseQuestion:
    key: str
    title: str
    question: str
    stage: int
    left_key: Key
    right_key: Key


def _letter(letter: str) -> Key:
    return Key(f"Key{letter}", letter)


# Left / right keys per question (safesora.taxonomy.QUESTIONS); a question without keys fails at import.
_QUESTION_KEYS = {"instruction_following": ("Q", "P"), "correctness": ("W", "O"), "informativeness": ("E", "I"),
                  "aesthetics": ("R", "U"), "helpfulness": ("T", "Y"), "harmlessness": ("F", "J")}

PAIRWISE: tuple[PairwiseQuestion, ...] = tuple(
    PairwiseQuestion(q.key, _(q.heading), _(q.question), q.stage, _letter(_QUESTION_KEYS[q.key][0]),
                     _letter(_QUESTION_KEYS[q.key][1]))
    for q in QUESTIONS)

# Safe / unsafe, per video.
SAFETY_KEYS: dict[str, tuple[Key, Key]] = {
    "video_0": (_letter("A"), _letter("S")),
    "video_1": (_letter("K"), _letter("L")),
}

# The 12 harm categories: the number row toggles them on the left video, with Shift on the right.
_CATEGORY_CODES = [(f"Digit{d}", str(d)) for d in (1, 2, 3, 4, 5, 6, 7, 8, 9, 0)] + [("Minus", "-"), ("Equal", "=")]


def category_key(index: int, side: str) -> Key:
    code, label = _CATEGORY_CODES[index]
    return Key(code, label) if side == "video_0" else Key(f"Shift+{code}", f"⇧{label}")


CONFIRM_KEY = _letter("C")
SUBMIT_KEY = Key("Enter", "Enter")

# Keys that act on the page rather than on an answer; annotate.js implements them.
PAGE_KEYS: tuple[tuple[Key, Any], ...] = (
    (Key("Space", "Space"), _("play / pause both videos")),
    (Key("ArrowLeft", "←"), _("both videos back 1 s")),
    (Key("ArrowRight", "→"), _("both videos forward 1 s")),
    (Key("Comma", ","), _("slower")),
    (Key("Period", "."), _("faster")),
    (_letter("V"), _("loop on / off")),
    (_letter("B"), _("show blurred videos")),
    (SUBMIT_KEY, _("submit")),
    (_letter("X"), _("skip this pair")),
    (_letter("G"), _("guidelines")),
    (Key("Shift+Slash", "?"), _("this list of shortcuts")),
)


@dataclass
class FormState:
    """What is selected in the form: from a POST (to show it again with errors) or a judgement."""

    choices: dict[str, str] = field(default_factory=dict)  # question -> "video_0" / "video_1"
    is_safe: dict[str, bool | None] = field(default_factory=lambda: dict.fromkeys(SIDES))
    categories: dict[str, set[str]] = field(default_factory=lambda: {side: set() for side in SIDES})
    confirm: bool = False

    @classmethod
    def from_post(cls, post: Mapping[str, Any]) -> "FormState":
        state = cls()
        for q in PAIRWISE:
            if post.get(q.key) in SIDES:
                state.choices[q.key] = post[q.key]
        for side in SIDES:
            state.is_safe[side] = {"true": True, "false": False}.get(post.get(f"{side}_is_safe"))
            state.categories[side] = {k for k in post.getlist(f"{side}_categories") if k in HARM_KEYS}
        state.confirm = post.get("confirm_safe_with_labels") in ("true", "on", "1")
        return state

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> "FormState":
        """From Judgement field values (an annotation, a review, or a verdict's decided answers)."""
        state = cls()
        for q in PAIRWISE:
            if values.get(q.key) in SIDES:
                state.choices[q.key] = values[q.key]
        for side in SIDES:
            state.is_safe[side] = values.get(f"{side}_is_safe")
            labels = values.get(f"{side}_labels") or {}
            state.categories[side] = {k for k in HARM_KEYS if labels.get(k)}
        state.confirm = any(state.is_safe[s] and state.categories[s] for s in SIDES)
        return state


def _field_title(name: str) -> str:
    for q in PAIRWISE:
        if q.key == name:
            return str(q.title)
    for side in SIDES:
        if name.startswith(side):
            return str(SIDE_NAMES[side])
    return ""


def form_context(state: FormState | None = None, errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything the form template needs: questions with their choices, videos with their
    categories, what is checked, and the error of each field."""
    state = state or FormState()
    errors = dict(errors or {})

    def pairwise(q: PairwiseQuestion) -> dict[str, Any]:
        # "Safer overall" asks which is safer: its choices say so.
        left, right = (_("Left safer"), _("Right safer")) if q.key == "harmlessness" else (_("Left better"),
                                                                                             _("Right better"))
        return {"key": q.key, "title": q.title, "question": q.question, "error": errors.get(q.key),
                "choices": [
                    {"value": "video_0", "label": left, "key": q.left_key,
                     "checked": state.choices.get(q.key) == "video_0"},
                    {"value": "video_1", "label": right, "key": q.right_key,
                     "checked": state.choices.get(q.key) == "video_1"}]}

    videos = []
    for side in SIDES:
        safe_key, unsafe_key = SAFETY_KEYS[side]
        videos.append({
            "side": side, "name": SIDE_NAMES[side],
            "safe": {"key": safe_key, "checked": state.is_safe[side] is True},
            "unsafe": {"key": unsafe_key, "checked": state.is_safe[side] is False},
            "safety_error": errors.get(f"{side}_is_safe"),
            "categories_error": errors.get(f"{side}_categories"),
            "categories": [{"category": c, "key": category_key(i, side), "checked": c.key in state.categories[side]}
                           for i, c in enumerate(HARM_CATEGORIES)],
        })
    return {
        "stage1": [pairwise(q) for q in PAIRWISE if q.stage == 1],
        "stage2": [pairwise(q) for q in PAIRWISE if q.stage == 2],
        "videos": videos,
        "confirm": {"key": CONFIRM_KEY, "checked": state.confirm, "error": errors.get("confirm_safe_with_labels"),
                    # Shown when it matters: a video marked safe has categories (annotate.js keeps it up to date).
                    "visible": state.confirm or any(state.is_safe[s] and state.categories[s] for s in SIDES)},
        "errors": errors,
        "error_list": [(name, f"{_field_title(name)}: {message}" if _field_title(name) else message)
                       for name, message in errors.items()],
        "submit_key": SUBMIT_KEY,
        # The same checks as annotation.answers.clean_answers, in the browser (annotate.js).
        "messages": {
            "choose": str(_("Choose the left or the right video.")),
            "safety": str(_("Say whether this video is safe.")),
            "unsafe_needs_category": str(_("A video marked unsafe needs at least one harm category.")),
            "safe_with_categories": str(_("A video marked safe has harm categories: clear them, mark it unsafe, "
                                          "or confirm that it is safe anyway.")),
            "offline": str(_("Could not reach the server. Nothing was lost: try again.")),
            "media_error": str(_("This video could not be played. You can skip the pair and say why.")),
        },
    }


def shortcut_legend() -> list[tuple[str, Any]]:
    """(keys, what they do) for the visible legend, built from the same data as the form."""
    rows: list[tuple[str, Any]] = []
    for q in PAIRWISE:
        text = (_("%(title)s: left / right safer") if q.key == "harmlessness"
                else _("%(title)s: left / right better")) % {"title": q.title}
        rows.append((f"{q.left_key.label} / {q.right_key.label}", text))
    for side in SIDES:
        safe, unsafe = SAFETY_KEYS[side]
        rows.append((f"{safe.label} / {unsafe.label}", _("%(video)s: safe / unsafe") % {"video": SIDE_NAMES[side]}))
    rows.append(("1 … 9, 0, -, =", _("left video: harm category S1 … S12 on / off")))
    rows.append(("⇧1 … ⇧=", _("right video: harm category S1 … S12 on / off")))
    rows.append((CONFIRM_KEY.label, _("confirm a safe video that has harm categories")))
    rows.extend((key.label, text) for key, text in PAGE_KEYS)
    return rows
