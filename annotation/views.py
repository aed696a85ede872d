"""Pages: the crowdworker's annotation page, the reviewer's queue and pair page, the dashboard.

Thin: the next-pair engine (annotation.assignment), answer validation (annotation.answers),
reviews (annotation.reviews) and the measures (annotation.quality, annotation.dashboard) do
the work. The annotation page is one "workspace" fragment that htmx swaps after each submit or
skip; without JavaScript the same forms post and redirect.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation import dashboard as dashboard_data
from annotation.aggregation import ANSWER_FIELDS, SIDES, aggregate_pair, pair_video_verdicts
from annotation.answers import AnswerError, answers_from_form
from annotation.assignment import (
    AssignmentError,
    AssignmentRefused,
    campaign_progress,
    edit_annotation,
    edit_refusal,
    editable_annotations,
    next_assignments,
    skip_assignment,
    submit_annotation,
    todays_count,
    user_history,
)
from annotation.decorators import annotator_required, is_htmx, reviewer_required, staff_required
from annotation.judgement_form import FormState, form_context, shortcut_legend
from annotation.media import poster_url, video_url
from annotation.models import (
    Annotation,
    Assignment,
    AssignmentState,
    Campaign,
    Pair,
    Review,
    WorkerSettings,
    set_single_key_shortcuts,
)
from annotation.quality import review_queue as low_agreement_pairs
from annotation.reviews import changed_fields, record_review
from crowd.gate import stop_for
from safesora.inputs import parse_id
from safesora.taxonomy import HARM_CATEGORIES, QUESTIONS, SUB_DIMENSIONS

SKIP_REASONS = (
    ("broken", gettext_lazy("A video does not play or looks broken")),
    ("distressing", gettext_lazy("The content is too distressing for me")),
    ("cannot_judge", gettext_lazy("I cannot judge this pair")),
    ("other", gettext_lazy("Other")),
)
WORKSPACE = "annotation/_workspace.html"


# --- shared pieces ---------------------------------------------------------------------------


def players(pair: Pair) -> list[dict[str, Any]]:
    """The two videos as the page shows them: URLs, poster, and whether they start blurred."""
    sensitive_prompt = pair.prompt.prompt_type == "safety_critical"
    return [{"video": video, "side": side, "url": video_url(video), "poster": poster_url(video) or "",
             "blurred": pair.campaign.blur_sensitive and (sensitive_prompt or video.flagged)}
            for side, video in (("video_0", pair.video_0), ("video_1", pair.video_1))]


def guidelines_context() -> dict[str, Any]:
    return {"harm_categories": HARM_CATEGORIES, "sub_dimensions": SUB_DIMENSIONS, "questions": QUESTIONS,
            "legend": shortcut_legend()}


def _campaign_param(request: HttpRequest) -> Campaign | None:
    pk = parse_id(request.GET.get("campaign") or request.POST.get("campaign"), "campaign")
    return None if pk is None else Campaign.objects.filter(pk=pk).first()


def _leases() -> QuerySet:
    """Leases with what the page shows loaded, oldest first (the engine's order)."""
    return Assignment.objects.select_related(
        "pair__prompt", "pair__video_0", "pair__video_1", "pair__campaign").order_by("created_at", "id")


# --- the crowdworker's page ------------------------------------------------------------------


def _workspace(request: HttpRequest, current: Assignment | None, preload: Assignment | None, *,
               status: int = 200, state: FormState | None = None, errors: dict | None = None,
               **extra: Any) -> HttpResponse:
    """Render the workspace for `current` (or the refusal / "all done" card when None)."""
    context: dict[str, Any] = {"assignment": current, "today": todays_count(request.user),
                               "comment": request.POST.get("comment", "") if errors else "",
                               "skip_reasons": SKIP_REASONS,
                               "single_key_shortcuts": WorkerSettings.shortcuts_on(request.user),
                               **guidelines_context(), **extra}
    campaign = _campaign_param(request)
    context["campaign_query"] = f"?campaign={campaign.pk}" if campaign else ""
    if current is not None:
        pair = current.pair
        shown = players(pair)
        shown_ids = {p["video"].pk for p in shown}
        context.update(progress=campaign_progress(request.user, pair.campaign))
        context.update(pair=pair, campaign=pair.campaign, players=shown, form=form_context(state, errors),
                       preload=[p for p in players(preload.pair) if p["video"].pk not in shown_ids] if preload else [])
    template = WORKSPACE if is_htmx(request) else "annotation/annotate.html"
    return render(request, template, context, status=status)


def _next_workspace(request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The workspace for the worker's next pair (their own live lease first), preloading the one after."""
    stop = stop_for(request.user, _campaign_param(request))  # qualification first; marketplace quota
    if stop is not None:
        if is_htmx(request):
            response = HttpResponse(status=200)
            response["HX-Redirect"] = stop.url
            return response
        return redirect(stop.url)
    try:
        leases = next_assignments(request.user, campaign=_campaign_param(request), count=2)
    except AssignmentRefused as refused:
        return _workspace(request, None, None, status=status, refused=refused.reason, **extra)
    current, preload = (leases + [None, None])[:2]
    return _workspace(request, current, preload, status=status, **extra)


def _after_action(request: HttpRequest, message: str, level: int = messages.SUCCESS, status: int = 200) -> HttpResponse:
    """After a submit or skip: htmx swaps in the next pair; a plain form post redirects to it
    (post/redirect/get), except on an error, which is shown at once with its status."""
    if is_htmx(request) or status >= 400:
        return _next_workspace(request, status=status, notice=message, notice_level=level)
    messages.add_message(request, level, message)
    campaign = _campaign_param(request)
    return redirect(reverse("annotation:annotate") + (f"?campaign={campaign.pk}" if campaign else ""))


@annotator_required
@require_GET
def annotate(request: HttpRequest) -> HttpResponse:
    """The crowdworker's page: the pair to label now."""
    return _next_workspace(request)


@annotator_required
@require_POST
def submit(request: HttpRequest, assignment_id: int) -> HttpResponse:
    try:
        time_spent_ms = int(request.POST.get("time_spent_ms") or 0)
    except ValueError:
        time_spent_ms = 0
    try:
        submit_annotation(request.user, assignment_id, answers_from_form(request.POST), time_spent_ms,
                          comment=request.POST.get("comment", ""))
    except AnswerError as invalid:
        # Show the same pair again with what was chosen and what is missing; nothing was saved.
        current = _leases().filter(pk=assignment_id, user=request.user).first()
        if current is None:  # another worker's lease or no lease at all: the same 404 as the API
            raise Http404(_("No such pair in your work.")) from None
        preload = _leases().filter(user=request.user, state=AssignmentState.ACTIVE,
                                   expires_at__gt=timezone.now()).exclude(pk=assignment_id).first()
        return _workspace(request, current, preload, status=422, state=FormState.from_post(request.POST),
                          errors=invalid.errors)
    except AssignmentError as problem:
        return _after_action(request, problem.reason, messages.ERROR, status=problem.status)
    return _after_action(request, _("Saved. Here is the next pair."))


@annotator_required
@require_POST
def skip(request: HttpRequest, assignment_id: int) -> HttpResponse:
    code = request.POST.get("reason", "")
    details = request.POST.get("details", "").strip()
    if code not in dict(SKIP_REASONS) or (code == "other" and not details):
        return _after_action(request, _("Choose why you skip the pair (and say why for “Other”)."),
                             messages.ERROR, status=422)
    try:
        skip_assignment(request.user, assignment_id, f"{code}: {details}" if details else code)
    except AssignmentError as problem:
        return _after_action(request, problem.reason, messages.ERROR, status=problem.status)
    return _after_action(request, _("Skipped. Here is the next pair."), messages.INFO)


@annotator_required
@require_POST
def shortcut_setting(request: HttpRequest) -> HttpResponse:
    """Single-key shortcuts on or off for this person (the checkbox posts on change; a checkbox
    that is off sends nothing, so absent means off)."""
    set_single_key_shortcuts(request.user, request.POST.get("single_key_shortcuts") in ("on", "true", "1"))
    if is_htmx(request):
        return HttpResponse(status=204)
    return redirect(reverse("annotation:annotate"))


@annotator_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """The worker's own recent work; pairs they may still correct link to the correction page."""
    page = user_history(request.user, limit=100)
    editable = {a.pk for a in editable_annotations(request.user)}
    rows = [{"lease": lease,
             "annotation": getattr(lease, "annotation", None) if lease.state == AssignmentState.SUBMITTED else None}
            for lease in page.items]
    for row in rows:
        row["editable"] = row["annotation"] is not None and row["annotation"].pk in editable
    return render(request, "annotation/history.html", {"rows": rows, "total": page.total})


@annotator_required
@require_http_methods(["GET", "POST"])
def correct(request: HttpRequest, annotation_id: int) -> HttpResponse:
    """Reopen one of the worker's own recent annotations and replace its answers."""
    annotation = get_object_or_404(Annotation.objects.select_related(
        "pair__prompt", "pair__video_0", "pair__video_1", "pair__campaign"), pk=annotation_id, user=request.user)
    state, errors, status = None, None, 200
    if request.method == "POST":
        try:
            edit_annotation(request.user, annotation.pk, answers_from_form(request.POST),
                            comment=request.POST.get("comment", ""))
        except AnswerError as invalid:
            state, errors, status = FormState.from_post(request.POST), invalid.errors, 422
        except AssignmentError as problem:
            messages.error(request, problem.reason)
            return redirect("annotation:history")
        else:
            messages.success(request, _("Corrected. Your new answers replace the old ones."))
            return redirect("annotation:history")
    refusal = edit_refusal(annotation)
    if refusal and request.method == "GET":
        messages.error(request, refusal)
        return redirect("annotation:history")
    return render(request, "annotation/correct.html", {
        "annotation": annotation, "pair": annotation.pair, "campaign": annotation.pair.campaign,
        "players": players(annotation.pair),
        "form": form_context(state or FormState.from_values(_answer_fields(annotation)), errors),
        "comment": request.POST.get("comment", annotation.comment), **guidelines_context()}, status=status)


# --- reviewers -------------------------------------------------------------------------------


def _threshold(request: HttpRequest) -> float:
    default = settings.REVIEW_AGREEMENT_THRESHOLD
    try:
        value = float(request.GET.get("threshold", default))
    except ValueError:
        return default
    return value if 0 <= value <= 1 else default


@reviewer_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """Complete pairs whose annotators disagree, lowest agreement first."""
    threshold = _threshold(request)
    campaign = _campaign_param(request)
    include_reviewed = request.GET.get("reviewed") == "1"
    pairs = low_agreement_pairs(threshold, campaign=campaign, include_reviewed=include_reviewed)
    page = Paginator(pairs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "annotation/review_queue.html", {
        "page": page, "threshold": threshold, "campaign": campaign, "include_reviewed": include_reviewed,
        "campaigns": Campaign.objects.all(), "query": query.urlencode()})


@reviewer_required
@require_http_methods(["GET", "POST"])
def review_pair(request: HttpRequest, pair_id: str) -> HttpResponse:
    """Every answer for one pair, its history of reviews, and the form for the final answer."""
    pair = get_object_or_404(Pair.objects.select_related("prompt", "video_0", "video_1", "campaign"), pk=pair_id)
    state, errors, status = None, None, 200
    if request.method == "POST":
        try:
            record_review(pair, request.user, answers_from_form(request.POST), request.POST.get("note", ""))
        except AnswerError as invalid:
            state, errors, status = FormState.from_post(request.POST), invalid.errors, 422
        else:
            messages.success(request, _("Review saved. It is now this pair's final answer."))
            return redirect("annotation:review_pair", pair_id=pair.pk)

    annotations = list(Annotation.objects.filter(pair=pair).select_related("user").order_by("submitted_at", "id"))
    reviews = list(pair.reviews.select_related("reviewer").order_by("created_at", "id"))
    latest = _answer_fields(reviews[-1]) if reviews else None
    answers = [_answer_fields(a) for a in annotations]
    verdict = aggregate_pair(answers, latest)
    video_verdicts = pair_video_verdicts(answers, latest)
    if state is None:
        # Start from the current final answer: the latest review, else the annotators' majority.
        start = latest or {q: c for q, c in verdict.choices.items() if c}
        if not latest:
            for side, video in zip(SIDES, video_verdicts, strict=True):
                start.update({f"{side}_is_safe": video.is_safe, f"{side}_labels": video.labels})
        state = FormState.from_values(start)
    history = [{"review": r, "changed": changed_fields(r, reviews[i - 1] if i else None)}
               for i, r in enumerate(reviews)][::-1]
    return render(request, "annotation/review_pair.html", {
        "pair": pair, "campaign": pair.campaign, "players": players(pair), "annotations": annotations,
        "verdict": verdict, "video_verdicts": video_verdicts, "history": history, "form": form_context(state, errors),
        "note": request.POST.get("note", "") if errors else "",
        "single_key_shortcuts": WorkerSettings.shortcuts_on(request.user), **guidelines_context()}, status=status)


def _answer_fields(judgement: Annotation | Review) -> dict[str, Any]:
    return {name: getattr(judgement, name) for name in ANSWER_FIELDS}


# --- staff -----------------------------------------------------------------------------------


@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    campaign = _campaign_param(request)
    context = dashboard_data.figures(campaign, refresh=request.GET.get("refresh") == "1")
    context.update(campaign=campaign, campaigns=Campaign.objects.all(),
                   refresh_query=f"?campaign={campaign.pk}&refresh=1" if campaign else "?refresh=1")
    return render(request, "annotation/dashboard.html", context)

