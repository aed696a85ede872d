"""The annotation REST API (django-ninja), mounted at /api/annotation/; schema at /api/openapi.json.

Authentication: `Authorization: Bearer <token>` (manage.py issue_api_token) or the browser's
session with its CSRF token. Every endpoint acts for the authenticated worker only: a lease of
someone else answers 404, and other people's labels are never returned. Errors are JSON
`{"detail": "...", "errors": {field: message}}` with 400 (bad input), 403 (may not work),
404 (no such lease of yours) or 409 (the lease cannot take this any more).
"""

import functools
from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import WithJsonSchema

from crowd.gate import stop_for
from safesora.auth import API_AUTH
from safesora.inputs import MAX_BIGINT, Integer
from safesora.roles import is_crowdworker

from . import assignment as engine
from .answers import ANSWERS_JSON_SCHEMA, AnswerError, judgement_as_answers
from .media import poster_url, starts_blurred, video_url
from .models import Assignment

router = Router(auth=API_AUTH, tags=["annotation"])
MAX_OFFSET = 10**12  # far past any history, and offset + limit still fits a bigint


class ErrorOut(Schema):
    detail: str
    errors: dict[str, str] = {}


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class VideoOut(Schema):
    id: str
    url: str = Field(description="permission-checked; supports Range requests")
    poster_url: str | None
    start_blurred: bool = Field(description="flagged or safety-critical: show blurred until clicked")


class LeaseOut(Schema):
    assignment_id: int
    pair_id: str
    campaign_id: int
    prompt_id: str
    prompt_text: str
    video_0: VideoOut = Field(description="the left video")
    video_1: VideoOut = Field(description="the right video")
    leased_at: datetime
    expires_at: datetime


class NextIn(Schema):
    campaign: Integer | None = Field(None, ge=1, le=MAX_BIGINT,
                                 description="a campaign id; default: any campaign you are on")
    count: Integer = Field(1, ge=1, le=10,
                       description="2 gives the pair to show and the next one to preload")


class NextOut(Schema):
    assignments: list[LeaseOut] = Field(description="your live leases first; empty when nothing is left")


AnswersIn = Annotated[dict[str, Any], WithJsonSchema(ANSWERS_JSON_SCHEMA)]


class SubmitIn(Schema):
    answers: AnswersIn
    time_spent_ms: Integer = Field(0, ge=0, le=2**31 - 1,
                               description="time spent on this pair, in milliseconds")
    comment: str = Field("", max_length=1000, description="optional note for the reviewers")


class SubmittedOut(Schema):
    annotation_id: int
    assignment_id: int
    pair_id: str
    submitted_at: datetime


class SkipIn(Schema):
    reason: str = Field("", max_length=500)


class SkippedOut(Schema):
    assignment_id: int
    state: str


class HistoryItem(Schema):
    assignment_id: int
    pair_id: str
    prompt_text: str
    state: str = Field(description="active, submitted, skipped or expired")
    leased_at: datetime
    finished_at: datetime | None
    skip_reason: str
    time_spent_ms: int | None
    answers: dict[str, Any] | None = Field(description="your own answers, in the submit shape")


class HistoryOut(Schema):
    items: list[HistoryItem]
    total: int
    limit: int
    offset: int


class HistoryQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CampaignStatus(Schema):
    id: int
    name: str
    daily_cap: int | None
    refused: str | None = Field(description="why you may not work on it now, or null")


class StatusOut(Schema):
    today_count: int
    campaigns: list[CampaignStatus]


def engine_errors(view):
    """Turn the engine's refusals into JSON answers with their status."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except AnswerError as exc:
            return Status(400, {"detail": _("Some answers are missing or invalid."), "errors": exc.errors})
        except engine.AssignmentError as exc:
            return Status(exc.status, {"detail": exc.reason})

    return wrapper


def lease_out(lease: Assignment) -> dict[str, Any]:
    pair = lease.pair
    videos = {side: {"id": v.pk, "url": video_url(v), "poster_url": poster_url(v),
                     "start_blurred": starts_blurred(pair, v)}
              for side, v in (("video_0", pair.video_0), ("video_1", pair.video_1))}
    return {"assignment_id": lease.pk, "pair_id": pair.pk, "campaign_id": pair.campaign_id,
            "prompt_id": pair.prompt_id, "prompt_text": pair.prompt.text, **videos,
            "leased_at": lease.created_at, "expires_at": lease.expires_at}


@router.post("/next", response={200: NextOut, **ERRORS}, summary="Your next pairs")
@engine_errors
def next_pairs(request: HttpRequest, payload: NextIn):
    """Your unexpired leases first, then newly leased pairs, `count` in all."""
    stop = stop_for(request.auth, payload.campaign)  # qualification first; marketplace quota
    if stop is not None:
        return Status(403, {"detail": stop.reason})
    leases = engine.next_assignments(request.auth, campaign=payload.campaign, count=payload.count)
    return Status(200, {"assignments": [lease_out(lease) for lease in leases]})


@router.post("/assignments/{assignment_id}/submit", response={200: SubmittedOut, **ERRORS},
             summary="Submit your answers for a lease")
@engine_errors
def submit(request: HttpRequest, assignment_id: int, payload: SubmitIn):
    """Idempotent: submitting the same lease again returns the first annotation."""
    annotation = engine.submit_annotation(request.auth, assignment_id, payload.answers, payload.time_spent_ms,
                                         comment=payload.comment)
    return Status(200, {"annotation_id": annotation.pk, "assignment_id": annotation.assignment_id,
                 "pair_id": annotation.pair_id, "submitted_at": annotation.submitted_at})


@router.post("/assignments/{assignment_id}/skip", response={200: SkippedOut, **ERRORS},
             summary="Give a lease back, with a reason")
@engine_errors
def skip(request: HttpRequest, assignment_id: int, payload: SkipIn):
    """The pair goes back to the pool and will not be offered to you again."""
    engine.skip_assignment(request.auth, assignment_id, payload.reason)
    return Status(200, {"assignment_id": assignment_id, "state": "skipped"})


@router.get("/history", response={200: HistoryOut, **ERRORS}, summary="Your own work, newest first")
@engine_errors
def history(request: HttpRequest, query: Query[HistoryQuery]):
    _require_worker(request.auth)
    page = engine.user_history(request.auth, limit=query.limit, offset=query.offset)
    items = []
    for lease in page.items:
        annotation = getattr(lease, "annotation", None) if lease.state == engine.SUBMITTED else None
        items.append({"assignment_id": lease.pk, "pair_id": lease.pair_id, "prompt_text": lease.pair.prompt.text,
                      "state": lease.state, "leased_at": lease.created_at, "finished_at": lease.finished_at,
                      "skip_reason": lease.skip_reason,
                      "time_spent_ms": annotation.time_spent_ms if annotation else None,
                      "answers": judgement_as_answers(annotation) if annotation else None})
    return Status(200, {"items": items, "total": page.total, "limit": page.limit, "offset": page.offset})


@router.get("/status", response={200: StatusOut, **ERRORS}, summary="Today's count and your campaigns")
@engine_errors
def status(request: HttpRequest):
    _require_worker(request.auth)
    found = engine.standings(request.auth)
    return Status(200, {"today_count": engine.todays_count(request.auth),
                 "campaigns": [{"id": s.campaign.pk, "name": s.campaign.name, "daily_cap": s.campaign.daily_cap,
                                "refused": s.reason} for s in found]})


def _require_worker(user) -> None:
    if not (user.is_staff or is_crowdworker(user)):
        raise engine.AssignmentRefused(_("This account does not have the crowdworker role."))
