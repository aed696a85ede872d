"""Small request/response rules that apply site-wide."""

from collections.abc import Callable
from dataclasses import asdict

import csp.middleware
from csp.constants import HEADER
from csp.middleware import CheckableLazyObject
from csp.utils import build_policy
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control


def no_store_api(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """API answers carry leases, answers and tokens' users: no cache (browser or proxy) may keep them."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.path_info.startswith("/api/"):
            patch_cache_control(response, no_store=True, private=True)
        return response

    return middleware


_PER_VIEW = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


class CSPMiddleware(csp.middleware.CSPMiddleware):
    """django-csp's middleware, with the site-wide policy built once instead of for every response.

    The site's policy uses no nonce and no view changes it, so building it per response (about
    0.2 ms, a tenth of an API call's CPU) bought nothing; anything else goes to django-csp itself.
    """

    _built: tuple[int, str] | None = None  # (id of the settings dict it was built from, header)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}
        if (getattr(request, "_csp_nonce", None) is not None or any(hasattr(response, a) for a in _PER_VIEW)
                or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
                or (settings.DEBUG and response.status_code in (404, 500))):
            return super().process_response(request, response)
        if self._built is None or self._built[0] != id(policy):
            parts = self.get_policy_parts(request=request, response=response)
            type(self)._built = (id(policy), build_policy(**asdict(parts)))
        header = self._built[1]
        excluded = request.path_info.startswith(tuple(policy.get("EXCLUDE_URL_PREFIXES") or ()))
        if header and HEADER not in response and not getattr(response, "_csp_exempt", False) and not excluded:
            response[HEADER] = header
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)  # as django-csp does
        return response
