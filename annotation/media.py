"""Video and poster files, served only to the people allowed to see them.

Who may: staff, reviewers, and a crowdworker who holds or held (any lease state) a pair showing
the video. Everyone else gets 403, the same whether or not the video exists.

How: with S3 storage (settings.S3_BUCKET) the view redirects to a short-lived signed URL
(MEDIA_URL_EXPIRE_SECONDS); with local files it streams them itself, honouring single byte
ranges (Chromium's <video> seeks with `Range: bytes=N-` requests and needs 206 answers).
Pages and the API link to `video_url(video)` / `poster_url(video)`, never to the storage.
"""

import mimetypes
import os
import re

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from generation.models import Video
from safesora.models import bearer_user
from safesora.roles import is_reviewer

from .models import Assignment, Pair

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def video_url(video: Video | str) -> str:
    return reverse("annotation:video", args=[getattr(video, "pk", video)])


def poster_url(video: Video) -> str | None:
    return reverse("annotation:poster", args=[video.pk]) if video.poster else None


def starts_blurred(pair: Pair, video: Video) -> bool:
    """Wellbeing: with the campaign's blur setting, flagged videos and safety-critical prompts start blurred."""
    return pair.campaign.blur_sensitive and (video.flagged or pair.prompt.prompt_type == "safety_critical")


def may_view_video(user: AbstractBaseUser | AnonymousUser, video_id: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or is_reviewer(user):
        return True
    return Assignment.objects.filter(Q(pair__video_0_id=video_id) | Q(pair__video_1_id=video_id),
                                     user_id=user.pk).exists()


@require_safe
def video(request: HttpRequest, video_id: str) -> HttpResponse:
    return _serve(request, video_id, "file", "video/mp4")


@require_safe
def poster(request: HttpRequest, video_id: str) -> HttpResponse:
    return _serve(request, video_id, "poster", "image/jpeg")


def _serve(request: HttpRequest, video_id: str, field: str, default_type: str) -> HttpResponse:
    # The media URLs the API returns work with the API's token too (safesora.models.bearer_user).
    user = request.user if request.user.is_authenticated else (bearer_user(request) or request.user)
    if not may_view_video(user, video_id):
        raise PermissionDenied
    return serve_file(request, video_id, field, default_type)


def serve_file(request: HttpRequest, video_id: str, field: str, default_type: str) -> HttpResponse:
    """A video's file or poster, for a caller that has checked permission (crowd's qualification set too)."""
    found = Video.objects.only(field).filter(pk=video_id).first()
    file = getattr(found, field, None)
    if not file:
        raise PermissionDenied  # same answer as "not allowed": nothing to learn from probing
    if settings.S3_BUCKET:
        response = HttpResponseRedirect(file.url)  # signed, expires after MEDIA_URL_EXPIRE_SECONDS
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        path = file.path
        size = os.path.getsize(path)
    except (FileNotFoundError, NotImplementedError):
        raise PermissionDenied from None
    content_type = mimetypes.guess_type(path)[0] or default_type
    return _file_response(request, path, size, content_type)


def _file_response(request: HttpRequest, path: str, size: int, content_type: str) -> HttpResponse:
    """The whole file (200) or one byte range of it (206); 416 for a range outside it."""
    byte_range = _parse_range(request.headers.get("Range", ""), size)
    if byte_range == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    elif byte_range is None:
        response = FileResponse(open(path, "rb"), content_type=content_type)
    else:
        start, end = byte_range
        response = StreamingHttpResponse(_read(path, start, end - start + 1), status=206, content_type=content_type)
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Last-Modified"] = http_date(os.path.getmtime(path))
    # Private: a shared cache must never keep a permission-checked file.
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """(first, last) byte of a single `bytes=` range; None for no or unusable header (send it all).

    RFC 9110: a range whose last byte is before its first is invalid and ignored (200), a
    first byte past the end is unsatisfiable (416). Numbers of any length are read as bounds
    (no int() of thousands of digits: anything over 18 digits is past every file's end).
    """
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # absent, multi-range or another unit: the whole file is a valid answer
    first, last = (_bound(g) if g else None for g in match.groups())
    if first is None:  # suffix range: the last N bytes
        if last == 0:
            return "unsatisfiable"
        return max(size - last, 0), size - 1
    if last is not None and last < first:
        return None
    if first >= size:
        return "unsatisfiable"
    return first, min(last, size - 1) if last is not None else size - 1


def _bound(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else 10**18


def _read(path: str, start: int, length: int):
    with open(path, "rb") as fh:
        fh.seek(start)
        while length > 0:
            chunk = fh.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
