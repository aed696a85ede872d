"""Template filters for the annotation pages: roles (for the navigation) and small formatting."""

import math

from django import template
from django.utils.translation import gettext

from annotation.decorators import may_annotate as _may_annotate
from safesora.roles import is_reviewer as _is_reviewer
from safesora.taxonomy import HARM_CATEGORIES, PREFERENCE_QUESTIONS

register = template.Library()


@register.filter
def may_annotate(user) -> bool:
    return user.is_authenticated and _may_annotate(user)


@register.filter
def is_reviewer(user) -> bool:
    return _is_reviewer(user)


@register.filter
def percent(value) -> str:
    """0.734 -> "73%"; None or nan -> "n/a"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.0f}%"


@register.filter
def decimal(value, places: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{int(places)}f}"


@register.filter
def side_name(value: str) -> str:
    """video_0 -> "left", video_1 -> "right" (the answer as the annotator saw it)."""
    return {"video_0": gettext("left"), "video_1": gettext("right")}.get(value, "–")


@register.filter
def answer(judgement, question: str):
    """An annotation's or review's answer to one question (a key of safesora.taxonomy.QUESTIONS)."""
    return getattr(judgement, question) if question in PREFERENCE_QUESTIONS else None


@register.filter
def harm_codes(labels) -> str:
    """A HarmLabel dict -> "S4 S8" (the codes of the categories set), or "" when none is set."""
    return " ".join(c.code for c in HARM_CATEGORIES if (labels or {}).get(c.key))
