"""The figures and charts of the staff dashboard, for all campaigns or one.

Costs a handful of aggregate queries and one numpy pass over the annotations: about 10 s at
150,000 annotations on a loaded 2-core machine (bench/quality_at_scale.py). So `figures` keeps
the result in the cache for a minute, keyed by the newest annotation and review, so new work
shows at once; "recompute" bypasses it.
"""

import math
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation import charts
from annotation.models import Annotation, Campaign, Review
from annotation.quality import (
    VoteTable,
    agreement_by_question,
    annotations_per_day,
    annotator_stats,
    campaign_progress,
    label_distribution,
)
from safesora.taxonomy import HARM_CATEGORIES

ANNOTATOR_CHART_ROWS = 30  # the charts show the busiest annotators; the table lists everyone
CACHE_SECONDS = 60


def figures(campaign: Campaign | None = None, *, refresh: bool = False) -> dict[str, Any]:
    """`build(campaign)`, from the cache when nothing was annotated or reviewed since."""
    newest = Annotation.objects.aggregate(n=Count("id"), last=Max("id"), edited=Max("edited_at"))
    # A correction (edited_at) changes answers without adding a row: it is part of the key too.
    key = "annotation:dashboard:{}:{}:{}:{}:{}".format(
        campaign.pk if campaign else "all", newest["n"], newest["last"],
        Review.objects.aggregate(last=Max("id"))["last"], newest["edited"] and newest["edited"].timestamp())
    context = None if refresh else cache.get(key)
    if context is None:
        context = build(campaign)
        context["computed_at"] = timezone.now()
        cache.set(key, context, CACHE_SECONDS)
    return context


def _percent(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{100 * value:.0f}%"


def _decimal(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}"


def build(campaign: Campaign | None = None) -> dict[str, Any]:
    annotations = Annotation.objects.all()
    campaigns = Campaign.objects.all()
    if campaign is not None:
        annotations = annotations.filter(pair__campaign=campaign)
        campaigns = campaigns.filter(pk=campaign.pk)

    per_day = annotations_per_day(annotations, days=30)
    progress = campaign_progress(campaigns)
    table = VoteTable.from_annotations(annotations)
    agreement = agreement_by_question(table)
    distribution = label_distribution(table)
    annotators = annotator_stats(campaign)
    busiest = annotators[:ANNOTATOR_CHART_ROWS]
    preference_rows = [row for row in agreement if row.question.kind == "preference"]
    gold_minimum = min((c.gold_min_accuracy for c in campaigns), default=None)

    return {
        "total_annotations": distribution.annotations,
        "total_pairs": sum(p.pairs for p in progress),
        "complete_pairs": sum(p.complete for p in progress),
        "per_day": per_day,
        "progress": progress,
        "agreement": agreement,
        "distribution": distribution,
        "annotators": annotators,
        "refused": [a for a in annotators if a.refusals],
        "harm_rows": [(c, distribution.harm[c.key]) for c in HARM_CATEGORIES],
        "preference_rows": [(row.question, *distribution.preference[row.question.key]) for row in preference_rows],
        "charts": {
            "per_day": charts.column_chart([(day[5:], n) for day, n in per_day],
                                           title=_("Annotations per day, last 30 days")),
            "progress": charts.stacked_bar_chart(
                [(p.campaign.name, (p.complete, p.started, p.not_started)) for p in progress],
                [_("complete"), _("started"), _("not started")], title=_("Pairs per campaign")),
            "agreement": charts.bar_chart(
                [(str(row.question.label), row.alpha) for row in agreement], low=min(
                    [0.0, *(row.alpha for row in agreement if not math.isnan(row.alpha))]), high=1.0,
                fmt=_decimal, title=_("Krippendorff's alpha per question")),
            "harm": charts.bar_chart([(f"{c.code} {c.name}", distribution.harm[c.key]) for c in HARM_CATEGORIES],
                                     title=_("Harm categories (video judgements)")),
            "safety": charts.stacked_bar_chart(
                [(_("Video judgements"), (distribution.safe, distribution.unsafe))],
                [_("safe"), _("unsafe")], title=_("Safe and unsafe")),
            "preference": charts.stacked_bar_chart(
                [(str(row.question.label), distribution.preference[row.question.key]) for row in preference_rows],
                [_("left (video_0)"), _("right (video_1)")], title=_("Preference splits per question")),
            "throughput": charts.bar_chart([(a.username, a.annotations) for a in busiest],
                                           title=_("Annotations per annotator")),
            "gold": charts.bar_chart(
                [(a.username, a.gold_accuracy) for a in busiest], low=0.0, high=1.0, fmt=_percent,
                reference=gold_minimum, reference_label=_("minimum %(m)s") % {"m": _percent(gold_minimum)}
                if gold_minimum is not None else "", title=_("Gold accuracy per annotator")),
        },
    }
