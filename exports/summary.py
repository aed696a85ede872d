"""What an export holds, in words: for the command's output, the admin's messages and its pages.

A run can succeed and hold nothing (no pair was complete yet, every pair fell below the minimum
agreement...). That must be said where the admin looks, not left inside the manifest's JSON.
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import ExportRun, ExportState


def _counts(run: ExportRun) -> dict:
    return (run.manifest or {}).get("counts") or {}


def pair_count(run: ExportRun) -> int:
    """Pairs in the release's Hugging Face `pairs` config (every split; undecided pairs included)."""
    return sum(((_counts(run).get("hf") or {}).get("pairs") or {}).values())


def video_count(run: ExportRun) -> int:
    return int(_counts(run).get("videos") or 0)


def export_summary(run: ExportRun) -> str:
    """One line: what a finished export holds, or its state."""
    if run.state != ExportState.SUCCEEDED:
        return f"{run.get_state_display().lower()}" + (f": {run.error}" if run.error else "")
    counts = _counts(run)
    preference = (counts.get("safesora") or {}).get("preference") or {}
    skipped = counts.get("pairs_skipped") or {}
    text = ngettext("%(n)d pair", "%(n)d pairs", pair_count(run)) % {"n": pair_count(run)}
    text += _(" (SafeSora preference train/test %(train)s/%(test)s), %(videos)d labelled videos") % {
        "train": preference.get("train", 0), "test": preference.get("test", 0), "videos": video_count(run)}
    if skipped:
        text += _("; left out: %(why)s") % {"why": ", ".join(f"{n} {reason}" for reason, n in skipped.items())}
    return text


def empty_warning(run: ExportRun) -> str | None:
    """A sentence for an export that finished with no pairs, saying why; None otherwise."""
    if run.state != ExportState.SUCCEEDED or run.manifest is None or pair_count(run):
        return None
    counts = _counts(run)
    skipped = counts.get("pairs_skipped") or {}
    seen = int(counts.get("pairs_seen") or 0)
    if not seen and not skipped:
        why = _("no pair matched its filters.")
    else:
        why = _("of the pairs it looked at, %(why)s.") % {
            "why": ", ".join(f"{n} {reason}" for reason, n in skipped.items()) or _("none was kept")}
    hint = _(" Only pairs with all their annotations are exported unless “include incomplete” is chosen.") \
        if "incomplete" in skipped else ""
    return _("This export holds 0 pairs: %(why)s%(hint)s") % {"why": why, "hint": hint}
