"""The login limit: django-axes counts failed logins in the database, per username and client address.

After LOGIN_ATTEMPTS_LIMIT failures within LOGIN_ATTEMPTS_WINDOW seconds, that username from that
address is refused with status 429 (axes' middleware), on the site login and the admin login alike,
until the window ends; a successful login clears the count. See docs/security.md.

Two things axes leaves to the project:
- the username is counted as authentication resolves it (the login form strips it and applies
  Unicode NFKC), so a look-alike such as a full-width 'ｗorkerB' shares 'workerB''s counter;
- axes checks the count, then the password, then records the failure: parallel attempts would all
  pass the check. The login forms hold a per-key database lock around that sequence, so at most
  LOGIN_ATTEMPTS_LIMIT passwords are ever checked per window, however many requests run at once.
"""

import hashlib
import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from axes.helpers import get_lockout_parameters
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

USERNAME_MAX = 255  # axes' column; longer input never names a user (150 is Django's maximum)


def normalize_username(value: object) -> str:
    """The username as the login form hands it to authentication: stripped, then NFKC."""
    return (UsernameField().to_python(value) or "")[:USERNAME_MAX]


def resolved_username(request: HttpRequest | None, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the counter's username, from the credentials or else the posted form."""
    if credentials and credentials.get("username") is not None:
        return normalize_username(credentials["username"])
    data = getattr(request, "POST", None) or {}
    return normalize_username(data.get("username"))


def client_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the
    outermost of them saw (the X-Forwarded-For entries before it are the client's to invent)."""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    candidates = [forwarded[-count]] if 0 < count <= len(forwarded) else []
    for candidate in [*candidates, request.META.get("REMOTE_ADDR", "")]:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def failure_limit(request: HttpRequest | None, credentials: dict | None) -> int:
    """AXES_FAILURE_LIMIT, read per call so the setting can change at run time (and in tests)."""
    return settings.LOGIN_ATTEMPTS_LIMIT


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: failures older than the window no longer count."""
    return timedelta(seconds=settings.LOGIN_ATTEMPTS_WINDOW)


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the same page for the site and the admin login, status 429."""
    minutes = max(round(settings.LOGIN_ATTEMPTS_WINDOW / 60), 1)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


def _lock_ids(request: HttpRequest, username: str) -> list[int]:
    """One 64-bit lock id per lockout key (e.g. username+address), in a fixed order (no deadlocks)."""
    values = {"username": username, "ip_address": client_address(request) or "", "user_agent":
              request.META.get("HTTP_USER_AGENT", "")}
    ids = set()
    for parameter in get_lockout_parameters(request, {"username": username}):
        names = [parameter] if isinstance(parameter, str) else list(parameter)
        key = "\0".join(f"{name}={values[name]}" for name in names)
        ids.add(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True))
    return sorted(ids)


@contextmanager
def attempts_serialized(request: HttpRequest, username: str) -> Iterator[None]:
    """Run one login attempt (count check, password check, failure record) alone for its key.

    PostgreSQL: transaction-scoped advisory locks on the attempt's keys, released at commit, once the
    failure is recorded. SQLite: the transaction itself (BEGIN IMMEDIATE) serializes writers.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for lock_id in _lock_ids(request, username):
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
        yield


class SerializedAttemptMixin:
    """For AuthenticationForm subclasses: the attempt runs under attempts_serialized."""

    def clean(self):
        username = self.cleaned_data.get("username")
        if self.request is None or username is None:
            return super().clean()
        with attempts_serialized(self.request, normalize_username(username)):
            try:
                return super().clean()
            except ValidationError as error:  # a refusal must not roll back the failure just recorded
                refusal = error
        raise refusal


class LimitedAuthenticationForm(SerializedAttemptMixin, AuthenticationForm):
    pass


class LimitedAdminAuthenticationForm(SerializedAttemptMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    authentication_form = LimitedAuthenticationForm
