"""Who may open a page: one small decorator per role.

Anonymous people go to the login page (an htmx request is told to do a full-page redirect, so the
login form is not swapped into the middle of a page); signed-in people without the role get 403.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from safesora.roles import is_crowdworker, is_reviewer


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _role_required(test: Callable) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if is_htmx(request):
                    response = HttpResponse(status=200)
                    response["HX-Redirect"] = resolve_url("login")
                    return response
                return redirect_to_login(request.get_full_path())
            if not request.user.is_active or not test(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)
        return wrapped
    return decorator


def may_annotate(user) -> bool:
    """Crowdworkers label pairs; staff may too (to try a campaign). The engine decides which pairs."""
    return user.is_staff or is_crowdworker(user)


annotator_required = _role_required(may_annotate)
reviewer_required = _role_required(is_reviewer)  # the reviewer role, or staff
staff_required = _role_required(lambda user: user.is_staff)
