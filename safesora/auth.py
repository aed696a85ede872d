"""Authentication for the API: a per-user token (`Authorization: Bearer <key>`) for programs, or
the browser's session cookie, which also needs the CSRF token (header X-CSRFToken) on writes.

Routers pass `auth=API_AUTH`. The token is tried first: session auth rejects a request without
CSRF outright, so it must come last.
"""

from datetime import timedelta

from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer, SessionAuth

from .models import ApiToken, hash_token

TOUCH_EVERY = timedelta(minutes=5)  # last_used_at precision: saves a write per request


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        found = ApiToken.objects.select_related("user").filter(key_hash=hash_token(token)).first()
        if found is None or not found.user.is_active:
            return None
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user  # permission checks read request.user, as for a session
        return found.user


class ActiveSessionAuth(SessionAuth):
    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie this is not a browser session: answer 401, not a CSRF failure.
        if self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None):
        user = request.user
        return user if user.is_authenticated and user.is_active else None


API_AUTH = [TokenAuth(), ActiveSessionAuth()]
