"""Bad input stops at the door: one place for what every request and query parameter must satisfy.

PostgreSQL refuses NUL characters in text and integers beyond bigint; Python's `int()` refuses
what `str.isdigit()` accepts ('²') and numbers over 4,300 digits. Each of these used to reach
the database or `int()` and answer 500. `InputGuardMiddleware` answers 400 for a NUL anywhere in
the path, the query, a form field or a JSON body, and turns an API body over the size limit into
a JSON 400; `parse_id` is the one reader of numeric ids in query parameters.
"""

import json
import re
from collections.abc import Callable
from typing import Annotated

from django.conf import settings
from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from pydantic import BeforeValidator

MAX_BIGINT = 2**63 - 1
_ID = re.compile(r"[0-9]{1,18}")  # every 18-digit number fits a bigint
API_PREFIX = "/api/"


class IdConverter:
    """URL converter `<id:name>`: a database id, so an oversized number is a 404, not a 500."""

    regex = _ID.pattern

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def parse_id(value: str | None, name: str = "id") -> int | None:
    """A numeric id from a query or form parameter: None when absent, BadRequest (400) when not one."""
    if value is None or value == "":
        return None
    if not _ID.fullmatch(value):
        raise BadRequest(f"{name} must be a whole number of at most 18 digits.")
    return int(value)


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


# An API integer: what JSON Schema calls an integer (1, or 1.0) is accepted, a boolean is not
# (pydantic's lax mode would take true as 1).
Integer = Annotated[int, BeforeValidator(_not_a_boolean)]


def has_nul(value: object) -> bool:
    """Whether a string, or any string inside lists/dicts, holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def _refuse(request: HttpRequest, message: str) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": message}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class InputGuardMiddleware:
    """400 for NUL characters anywhere in a request, JSON 400 for an oversized API body."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = self._check(request)
        return refused or self.get_response(request)

    def _check(self, request: HttpRequest) -> HttpResponse | None:
        nul = "Text must not contain NUL characters."
        if "\x00" in request.path or any(has_nul(k) or has_nul(request.GET.getlist(k)) for k in request.GET):
            return _refuse(request, nul)
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        content_type = request.content_type or ""
        try:
            if content_type.startswith("multipart/") or content_type == "application/x-www-form-urlencoded":
                # Form fields only: an uploaded file's bytes may hold NULs, a text field may not.
                # Reading the body first (when it is small) keeps it readable for views that parse it.
                if int(request.META.get("CONTENT_LENGTH") or 0) <= (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0):
                    request.body  # noqa: B018
                if any(has_nul(k) or has_nul(request.POST.getlist(k)) for k in request.POST) \
                        or any(has_nul(f.name or "") for _, files in request.FILES.lists() for f in files):
                    return _refuse(request, nul)
            elif request.path.startswith(API_PREFIX) or content_type == "application/json":
                return self._check_json(request, nul)
        except RequestDataTooBig:
            return _refuse(request, f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
        except SuspiciousOperation as exc:  # e.g. too many form fields
            return _refuse(request, str(exc) or "Bad request.")
        return None


    def _check_json(self, request: HttpRequest, nul: str) -> HttpResponse | None:
        body = request.body
        if not body.strip():
            return None
        if (body.lstrip()[:1] == b"{" and b"\\u0000" not in body and b"\x00" not in body
                and body.count(b"{") + body.count(b"[") < 100):
            # An object, too shallow to nest deeply, with no NUL (a JSON NUL is written \u0000):
            # nothing to refuse, and the view parses it anyway.
            return None
        try:
            data = json.loads(body)
        except ValueError:
            return None  # not JSON: the view's parser says so
        except RecursionError:
            return _refuse(request, "The JSON body is nested too deeply.")
        if request.path.startswith(API_PREFIX) and not isinstance(data, dict):
            return _refuse(request, "The request body must be a JSON object.")
        if has_nul(data):
            return _refuse(request, nul)
        return None
