"""What an export holds, in words: for the command's output, the admin's messages and its pages.

A run can succeed and hold nothing (no pair was complete yet, every pair fell below the minimum
agreement...). That must be said where the admin looks, not left inside the manifest's JSON.
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext

from .models import ExportRun, ExportState

REASONS = {"unannotated": _lazy("without annotations"), "incomplete": _lazy("missing annotations"),
           "eval_prompt": _lazy("of evaluation prompts (only the prompts are exported)")}


def _reasons(skipped: dict) -> str:
    return ", ".join(f"{n} {REASONS.get(reason, reason)}" for reason, n in skipped.items())


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
        text += _("; left out: %(why)s") % {"why": _reasons(skipped)}
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
        why = _("of the %(seen)d pairs it looked at, %(why)s.") % {"seen": seen, "why": _reasons(skipped) or _(
            "none was kept")}
    hint = _(" Only pairs with all their annotations are exported unless “include incomplete” is chosen.") \
        if "incomplete" in skipped else ""
    return _("This export holds 0 pairs: %(why)s%(hint)s") % {"why": why, "hint": hint}


def finished_message(run: ExportRun) -> tuple[int, str]:
    """(message level, sentence) for the admin once an export was started: what happened to it.

    Without a broker the task has already run inside the request, so "queued" would be wrong.
    """
    from django.contrib import messages

    name = run.name
    if run.state in (ExportState.QUEUED, ExportState.RUNNING):
        return messages.SUCCESS, _("Export %(name)s queued; this list shows its progress.") % {"name": name}
    if run.state == ExportState.FAILED:
        return messages.ERROR, _("Export %(name)s failed: %(error)s") % {"name": name, "error": run.error}
    if run.state == ExportState.CANCELLED:
        return messages.WARNING, _("Export %(name)s was cancelled.") % {"name": name}
    warning = empty_warning(run)
    if warning:
        return messages.WARNING, _("Export %(name)s finished. %(warning)s") % {"name": name, "warning": warning}
    return messages.SUCCESS, _("Export %(name)s finished: %(summary)s.") % {"name": name,
                                                                             "summary": export_summary(run)}


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def manifest_tables(run: ExportRun) -> dict:
    """The manifest's figures as rows for the export's admin page (tables and charts, not JSON)."""
    from annotation import charts

    counts = _counts(run)
    if not counts:
        return {}
    safesora = counts.get("safesora") or {}
    hf = counts.get("hf") or {}
    splits = sorted({s for c in hf.values() for s in c})
    mean_agreement = counts.get("mean_agreement") or {}
    choices = counts.get("choices") or {}
    harm = counts.get("harm_labels") or {}
    return {
        "safesora": [(part, (safesora.get(part) or {}).get("train", 0), (safesora.get(part) or {}).get("test", 0))
                     for part in ("preference", "label")],
        "eval_prompts": safesora.get("eval_prompts", 0),
        "hf_splits": splits,
        "hf": [(name, [split_counts.get(s, 0) for s in splits]) for name, split_counts in hf.items()],
        "left_out": [(REASONS.get(k, k), n) for k, n in sorted((counts.get("pairs_skipped") or {}).items())],
        "figures": [(_("pairs looked at"), counts.get("pairs_seen", 0)),
                    (_("pairs undecided on some question (Hugging Face only)"), counts.get("pairs_undecided", 0)),
                    (_("pairs settled by a review"), counts.get("pairs_reviewed", 0)),
                    (_("annotations"), counts.get("annotations", 0)),
                    (_("labelled videos"), counts.get("videos", 0)),
                    (_("of which safe"), counts.get("videos_safe", 0)),
                    (_("files"), (run.manifest or {}).get("file_count", 0)),
                    (_("bytes"), (run.manifest or {}).get("total_bytes", 0))],
        "generators": [(name, g, {q: _percent(r) for q, r in (g.get("win_rate") or {}).items()})
                       for name, g in sorted((counts.get("generators") or {}).items())],
        "options": [(k, ", ".join(v) or _("all") if isinstance(v, list) else v)
                    for k, v in sorted((run.options or {}).items())],
        "charts": [
            (_("Choices per question"), charts.stacked_bar_chart(
                [(q, (c.get("video_0", 0), c.get("video_1", 0))) for q, c in choices.items()],
                [_("left (video_0)"), _("right (video_1)")], title=_("Choices per question"))),
            (_("Mean annotator agreement per question"), charts.bar_chart(
                list(mean_agreement.items()), low=0.0, high=1.0, title=_("Mean annotator agreement per question"))),
            (_("Harm labels among the exported videos"), charts.bar_chart(
                list(harm.items()), title=_("Harm labels among the exported videos"))),
        ] if counts.get("pairs_seen") else [],
    }
