"""Login with a limit on failed attempts per username and client address (Django's cache counts
them; Redis when configured, so all web processes share the count).

After LOGIN_ATTEMPTS_LIMIT failures within LOGIN_ATTEMPTS_WINDOW seconds, that username from
that address is refused, with a clear message and status 429, until the window ends; a
successful login clears the count. The site login and the admin login both use it.
"""

import hashlib

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

TOO_MANY = "too_many_attempts"


def attempts_key(request: HttpRequest | None, username: str | None) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    digest = hashlib.sha256(f"{(username or '').strip().lower()}|{address}".encode()).hexdigest()
    return f"login-failures:{digest}"


class LoginRateLimitMixin:
    """For AuthenticationForm subclasses: refuse before checking the password when over the limit."""

    error_messages_too_many = _("Too many failed login attempts. Try again in %(minutes)d minutes.")

    def clean(self):
        key = attempts_key(self.request, self.data.get("username"))
        if cache.get(key, 0) >= settings.LOGIN_ATTEMPTS_LIMIT:
            raise ValidationError(self.error_messages_too_many, code=TOO_MANY,
                                  params={"minutes": max(settings.LOGIN_ATTEMPTS_WINDOW // 60, 1)})
        try:
            cleaned = super().clean()
        except ValidationError:
            # The window starts at the first failure; later failures do not extend it.
            if not cache.add(key, 1, timeout=settings.LOGIN_ATTEMPTS_WINDOW):
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.add(key, 1, timeout=settings.LOGIN_ATTEMPTS_WINDOW)
            raise
        cache.delete(key)
        return cleaned


class RateLimitedAuthenticationForm(LoginRateLimitMixin, AuthenticationForm):
    pass


class RateLimitedAdminAuthenticationForm(LoginRateLimitMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    authentication_form = RateLimitedAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, TOO_MANY):
            response.status_code = 429
        return response
