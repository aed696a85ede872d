"""Small request/response rules that apply site-wide."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control


def no_store_api(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """API answers carry leases, answers and tokens' users: no cache (browser or proxy) may keep them."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.path_info.startswith("/api/"):
            patch_cache_control(response, no_store=True, private=True)
        return response

    return middleware
