"""Pages of the crowd app. Thin: crowd.onboarding, crowd.marketplace, crowd.qualification and
crowd.payments do the work; every view checks who may open it."""

import base64

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_safe

from annotation.answers import AnswerError, answers_from_form, clean_answers
from annotation.decorators import annotator_required, staff_required
from annotation.judgement_form import FormState, form_context
from annotation.media import serve_file
from annotation.models import Campaign

from . import marketplace, onboarding, payments, qualification
from .enrolment import crowd_settings
from .forms import CodeForm, OnboardForm, ReportForm, SignUpForm
from .models import (
    CrowdSettings,
    Enrolment,
    EnrolmentState,
    Invite,
    Marketplace,
    QualificationAnswer,
    QualificationItem,
)

LOGIN_BACKEND = "safesora.auth.UserBackend"


def _labelling_url(campaign_id: int) -> str:
    return reverse("annotation:annotate") + f"?campaign={campaign_id}"


def _next_step(enrolment: Enrolment) -> str:
    if enrolment.state == EnrolmentState.WORKING:
        return _labelling_url(enrolment.campaign_id)
    return reverse("crowd:qualify", args=[enrolment.campaign_id])


# --- bulk onboarding ------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "POST"])
def onboard(request: HttpRequest) -> HttpResponse:
    """Upload a CSV of people; get their accounts and one-time set-password links (shown once)."""
    form = OnboardForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "crowd/onboard.html", {"form": form}, status=400)
        try:
            people = onboarding.parse_people(form.cleaned_data["people"].read())
        except onboarding.OnboardingError as problem:
            return render(request, "crowd/onboard.html", {"form": form, "errors": problem.errors}, status=400)
        accounts = onboarding.do_onboard(people)
        base = request.build_absolute_uri("/")[:-1]
        download = base64.b64encode(onboarding.accounts_csv(accounts, base).encode()).decode()
        response = render(request, "crowd/onboarded.html", {"accounts": accounts, "base": base, "download": download})
        response["Cache-Control"] = "no-store"  # the links are shown once
        return response
    return render(request, "crowd/onboard.html", {"form": form, "columns": onboarding.COLUMNS})


class SetPasswordView(auth_views.PasswordResetConfirmView):
    template_name = "crowd/set_password.html"
    success_url = reverse_lazy("crowd:set_password_done")


class SetPasswordDoneView(auth_views.PasswordResetCompleteView):
    template_name = "crowd/set_password_done.html"


# --- invites --------------------------------------------------------------------------------------


@require_http_methods(["GET"])
def join_code(request: HttpRequest) -> HttpResponse:
    """Type an invite code."""
    form = CodeForm(request.GET or None)
    if request.GET and form.is_valid():
        return redirect("crowd:join", code=form.cleaned_data["code"])
    return render(request, "crowd/join_code.html", {"form": form}, status=400 if request.GET else 200)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, code: str) -> HttpResponse:
    """Sign up (or, signed in, join) with an invite: straight into its campaign."""
    invite = Invite.objects.select_related("campaign").filter(code=code).first()
    if invite is None:
        reason = _("There is no invite with this code.")
        return render(request, "crowd/join_closed.html", {"reason": reason}, status=404)
    problem = onboarding.invite_problem(invite)
    if problem:
        return render(request, "crowd/join_closed.html", {"reason": problem, "invite": invite}, status=410)
    user = request.user if request.user.is_authenticated else None
    form = None if user else SignUpForm(request.POST or None)
    if request.method == "POST" and (user or form.is_valid()):
        try:
            with transaction.atomic():
                if user is None:
                    user = form.save()
                onboarding.do_use_invite(invite, user)
        except onboarding.InviteError as refused:
            return render(request, "crowd/join_closed.html", {"reason": refused.reason, "invite": invite}, status=410)
        if not request.user.is_authenticated:
            login(request, user, backend=LOGIN_BACKEND)
        enrolment = Enrolment.objects.get(user=user, campaign=invite.campaign)
        messages.success(request, _("Welcome to “%(name)s”.") % {"name": invite.campaign.name})
        return redirect(_next_step(enrolment))
    return render(request, "crowd/join.html", {"invite": invite, "form": form},
                  status=400 if request.method == "POST" else 200)


# --- marketplaces ---------------------------------------------------------------------------------


@require_GET
def enter(request: HttpRequest, key: str) -> HttpResponse:
    """The marketplace entry URL: account without password, logged in, enrolled, sent to work."""
    crowd = CrowdSettings.objects.select_related("campaign").filter(entry_key=key).exclude(marketplace="").first()
    if crowd is None:
        raise Http404(_("No campaign is open at this address."))
    context = {"campaign": crowd.campaign, "crowd": crowd}
    try:
        entry = marketplace.parse_entry(crowd, request.GET)
    except marketplace.EntryError as bad:
        return render(request, "crowd/enter_error.html", {**context, "errors": bad.errors}, status=400)
    if entry.preview:
        return render(request, "crowd/mturk_preview.html", context)
    if not crowd.campaign.is_active:
        return render(request, "crowd/join_closed.html", {"reason": _("This campaign is closed.")}, status=410)
    enrolment = marketplace.do_enter(crowd, entry)
    if request.user.pk != enrolment.user_id:
        login(request, enrolment.user, backend=LOGIN_BACKEND)
    return redirect(_next_step(enrolment))


@annotator_required
@require_GET
def done(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """A marketplace worker's end: the completion code once their quota is done or the pairs ran out."""
    enrolment = get_object_or_404(Enrolment.objects.select_related("campaign"), user=request.user,
                                  campaign_id=campaign_id, source__in=[Marketplace.PROLIFIC, Marketplace.MTURK])
    crowd = crowd_settings(enrolment.campaign)
    progress = marketplace.progress(enrolment, crowd)
    context = {"enrolment": enrolment, "campaign": enrolment.campaign, "crowd": crowd, "progress": progress,
               "labelling_url": _labelling_url(campaign_id)}
    if progress.finished and crowd.completion_code:
        if enrolment.source == Marketplace.PROLIFIC:
            context["prolific_url"] = marketplace.prolific_complete_url(crowd.completion_code)
        elif enrolment.submit_to:
            context["mturk_submit"] = enrolment.submit_to + "/mturk/externalSubmit"
    return render(request, "crowd/done.html", context)


# --- qualification --------------------------------------------------------------------------------


def _enrolment(request: HttpRequest, campaign_id: int) -> Enrolment:
    return get_object_or_404(Enrolment.objects.select_related("campaign"), user=request.user, campaign_id=campaign_id)


@annotator_required
@require_http_methods(["GET", "POST"])
def qualify(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The next pair of the qualification set, its form, and the result at the end of a try."""
    enrolment = _enrolment(request, campaign_id)
    campaign = enrolment.campaign
    crowd = crowd_settings(campaign)
    context = {"campaign": campaign, "crowd": crowd, "enrolment": enrolment}
    if enrolment.state == EnrolmentState.WORKING:
        return redirect(_labelling_url(campaign_id))
    attempt = qualification.latest_attempt(enrolment)
    if enrolment.state == EnrolmentState.FAILED:
        return render(request, "crowd/qualify_result.html", {**context, "attempt": attempt}, status=403)
    if not qualification.items(campaign):
        return render(request, "crowd/qualify_result.html", {**context, "not_ready": True})
    if attempt is None or (attempt.finished_at and request.method == "POST" and "retry" in request.POST):
        attempt = qualification.do_start_attempt(enrolment)
        if request.method == "POST":
            return redirect("crowd:qualify", campaign_id=campaign_id)
    if attempt.finished_at:
        return render(request, "crowd/qualify_result.html", {
            **context, "attempt": attempt, "tries_left": qualification.tries_left(enrolment)})
    item = qualification.next_item(attempt)
    state, errors, status = None, None, 200
    if request.method == "POST":
        if request.POST.get("item") != str(item.pk):
            messages.error(request, _("That pair was already answered; here is the next one."))
            return redirect("crowd:qualify", campaign_id=campaign_id)
        try:
            values = clean_answers(answers_from_form(request.POST))
        except AnswerError as invalid:
            state, errors, status = FormState.from_post(request.POST), invalid.errors, 422
        else:
            try:
                answer = qualification.do_answer(enrolment, attempt, item, values)
            except qualification.QualificationError as refused:  # a second tab answered it first
                messages.error(request, refused.reason)
                return redirect("crowd:qualify", campaign_id=campaign_id)
            return redirect("crowd:qualify_feedback", campaign_id=campaign_id, answer_id=answer.pk)
    total = len(qualification.items(campaign))
    return render(request, "crowd/qualify.html", {
        **context, "attempt": attempt, "item": item, "pair": item.pair, "players": _players(item),
        "position": attempt.answers.count() + 1, "total": total, "form": form_context(state, errors)}, status=status)


@annotator_required
@require_GET
def qualify_feedback(request: HttpRequest, campaign_id: int, answer_id: int) -> HttpResponse:
    answer = get_object_or_404(QualificationAnswer.objects.select_related(
        "attempt", "item__pair__prompt", "item__pair__video_0", "item__pair__video_1"), pk=answer_id,
                               attempt__user=request.user, attempt__campaign_id=campaign_id)
    campaign = get_object_or_404(Campaign, pk=campaign_id)
    return render(request, "crowd/qualify_feedback.html", {
        "campaign": campaign, "answer": answer, "rows": qualification.feedback(answer),
        "players": _players(answer.item), "finished": answer.attempt.finished_at is not None})


def _players(item: QualificationItem) -> list[dict]:
    pair = item.pair
    return [{"video": v, "side": side, "blurred": False,
             "url": reverse("crowd:qualification_video", args=[item.campaign_id, v.pk]),
             "poster": reverse("crowd:qualification_poster", args=[item.campaign_id, v.pk]) if v.poster else ""}
            for side, v in (("video_0", pair.video_0), ("video_1", pair.video_1))]


def _qualification_media(request: HttpRequest, campaign_id: int, video_id: str, field: str, kind: str) -> HttpResponse:
    # Only people taking (or who took) this campaign's qualification see its videos.
    if not (request.user.is_authenticated and request.user.is_active and (
            request.user.is_staff or Enrolment.objects.filter(user=request.user, campaign_id=campaign_id).exists())):
        raise PermissionDenied
    if not QualificationItem.objects.filter(Q(pair__video_0_id=video_id) | Q(pair__video_1_id=video_id),
                                            campaign_id=campaign_id).exists():
        raise PermissionDenied
    return serve_file(request, video_id, field, kind)


@require_safe
def qualification_video(request: HttpRequest, campaign_id: int, video_id: str) -> HttpResponse:
    return _qualification_media(request, campaign_id, video_id, "file", "video/mp4")


@require_safe
def qualification_poster(request: HttpRequest, campaign_id: int, video_id: str) -> HttpResponse:
    return _qualification_media(request, campaign_id, video_id, "poster", "image/jpeg")


# --- payment report -------------------------------------------------------------------------------


@staff_required
@require_GET
def payment_report(request: HttpRequest) -> HttpResponse:
    """Per worker, for a date range: as a page, or as CSV with ?format=csv."""
    form = ReportForm(request.GET or ReportForm.initial_range())
    if not form.is_valid():
        return render(request, "crowd/payments.html", {"form": form, "rows": None}, status=400)
    data = form.cleaned_data
    rows = payments.payment_report(data["start"], data["end"], data["campaign"])
    if request.GET.get("format") == "csv":
        response = HttpResponse(payments.report_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="payments-{data["start"]}-{data["end"]}.csv"'
        return response
    query = request.GET.copy()
    query["format"] = "csv"
    for name in ("start", "end"):
        query.setdefault(name, str(data[name]))
    return render(request, "crowd/payments.html", {
        "form": form, "rows": rows, "csv_query": query.urlencode(),
        "totals": {"submitted": sum(r.submitted for r in rows), "skipped": sum(r.skipped for r in rows),
                   "hours": sum(r.active_hours for r in rows)}})

