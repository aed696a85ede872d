"""Moderation REST API, mounted at /api/moderation/ (staff only).

POST /api/moderation/score, multipart form: `video_id` (a stored video) or `file` (an uploaded
video), `prompt` (required with a file; default for a stored video: its input text), optional
`model_version` (default: the active model). Answers the scores; stores nothing (screening of
stored videos is moderation.screening's job). Errors: {"detail": "..."} with 400 (bad input;
a file that is not an acceptable video by generation.encoding.check_video_file, the rule of
import_videos too), 401 (not logged in), 403 (not staff), 404 (no such video or model) or
409 (no model is active).
"""

import tempfile
from pathlib import Path
from typing import Annotated

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from generation.encoding import NotAVideo, check_video_file
from generation.models import Video
from safesora.auth import API_AUTH
from safesora.inputs import parse_id

from .frames import UnreadableVideo
from .models import ModelState, ModerationModel

router = Router(auth=API_AUTH, tags=["moderation"])

class ErrorOut(Schema):
    detail: str


class ScoreOut(Schema):
    model_version: int
    video_id: str | None
    categories: dict[str, float]
    unsafe_probability: float
    is_safe: bool
    flagged: bool
    flagged_categories: list[str]
    thresholds: dict[str, float]


class Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


@router.post("/score", response={200: ScoreOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut,
                                 409: ErrorOut},
             summary="Harm scores of a video and its prompt")
def score(request: HttpRequest, video_id: Annotated[str | None, Form()] = None,
          prompt: Annotated[str | None, Form()] = None, model_version: Annotated[str | None, Form()] = None,
          file: Annotated[UploadedFile | None, File()] = None):
    from .screening import moderator_for, score_video

    try:
        if not request.user.is_staff:
            raise Refused(403, "Moderation scores are for staff only.")
        model = _model(model_version)
        if (video_id is None) == (file is None):
            raise Refused(400, "Send exactly one of video_id and file.")
        if prompt is not None and not prompt.strip():
            raise Refused(400, "The prompt must not be empty (leave it out to use a stored video's own text).")
        if video_id is not None:
            video = Video.objects.filter(pk=video_id.strip()).first()
            if video is None:
                raise Refused(404, f"No video with id {video_id!r}.")
            scores = score_video(video, model, prompt)
        else:
            if not prompt or not prompt.strip():
                raise Refused(400, "A prompt is required with an uploaded file.")
            if file.size > settings.VIDEO_MAX_BYTES:
                raise Refused(400, f"The file is larger than {settings.VIDEO_MAX_BYTES:,} bytes (VIDEO_MAX_BYTES).")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "upload"
                with path.open("wb") as out:
                    for chunk in file.chunks():
                        out.write(chunk)
                try:
                    check_video_file(path)  # the same rule as import_videos
                except NotAVideo as exc:
                    raise Refused(400, f"The file is refused: {exc}.") from None
                scores = moderator_for(model).score(path, prompt)
    except Refused as exc:
        return Status(exc.status, {"detail": exc.detail})
    except UnreadableVideo as exc:
        return Status(400, {"detail": f"The video cannot be read: {exc.reason}"})
    return Status(200, {"model_version": model.version, "video_id": video_id, **scores.as_dict()})


def _model(version: str | None) -> ModerationModel:
    if version is None or version == "":
        model = ModerationModel.active()
        if model is None:
            raise Refused(409, "No moderation model is active.")
        return model
    try:
        number = parse_id(version.strip(), "model_version")
    except BadRequest as exc:
        raise Refused(400, str(exc)) from None
    model = ModerationModel.objects.filter(version=number, state=ModelState.READY).first()
    if model is None:
        raise Refused(404, f"No trained moderation model with version {version}.")
    return model
