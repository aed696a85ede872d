"""Authentication for the API: a per-user token (`Authorization: Bearer <key>`) for programs, or
the browser's session cookie, which also needs the CSRF token (header X-CSRFToken) on writes.

Routers pass `auth=API_AUTH`. The token is tried first: session auth rejects a request without
CSRF outright, so it must come last.
"""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from .db import fetch_prepared
from .models import ApiToken


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        user = ApiToken.user_for_key(token)
        if user is not None:
            request.user = user  # permission checks read request.user, as for a session
        return user


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


class UserBackend(ModelBackend):
    """Django's ModelBackend, with the per-request user lookup as one prepared statement.

    Every request of a logged-in user reads the user row; building that query with the ORM
    took more CPU than the annotation engine's own statements.
    """

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user_id = model._meta.pk.to_python(user_id)
        except ValidationError:  # a tampered or stale session value: no user
            return None
        fields, sql = _user_query(model)
        rows = fetch_prepared(sql, {"id": user_id})
        if not rows:
            return None
        user = model.from_db(connection.alias, fields, rows[0])
        return user if self.user_can_authenticate(user) else None


@functools.cache
def _user_query(model) -> tuple[list[str], str]:
    """The user model's fields (from_db's order) and the statement that reads one user by id."""
    quote = connection.ops.quote_name
    fields = [f.attname for f in model._meta.concrete_fields]
    columns = ", ".join(quote(model._meta.get_field(f).column) for f in fields)
    return fields, f"SELECT {columns} FROM {quote(model._meta.db_table)} WHERE {quote(model._meta.pk.column)} = %(id)s"
