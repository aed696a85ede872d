"""The one REST API (django-ninja); each app adds its router here. OpenAPI schema at /api/openapi.json."""

from django.core.exceptions import BadRequest
from django.http.request import RawPostDataException
from ninja import NinjaAPI
from ninja.errors import ValidationError

from annotation.api import router as annotation_router
from moderation.api import router as moderation_router

api = NinjaAPI(title="SafeSora platform API", version="1", urls_namespace="api")
api.add_router("/annotation/", annotation_router)
api.add_router("/moderation/", moderation_router)


@api.exception_handler(ValidationError)
def invalid_input(request, exc: ValidationError):
    """Bad input is a 400 with one message per field (the project's rule), not ninja's 422."""
    errors = {".".join(str(p) for p in e["loc"][1:] if p != "payload") or "body": e["msg"] for e in exc.errors}
    return api.create_response(request, {"detail": "Invalid input.", "errors": errors}, status=400)


@api.exception_handler(BadRequest)
def bad_request(request, exc: BadRequest):
    return api.create_response(request, {"detail": str(exc) or "Bad request."}, status=400)


@api.exception_handler(RawPostDataException)
def body_already_read(request, exc: RawPostDataException):
    """A large multipart form sent to an endpoint that takes JSON."""
    return api.create_response(request, {"detail": "This endpoint takes a JSON body."}, status=400)
