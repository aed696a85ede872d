from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff land in the admin; everyone else on their own start page."""
    if request.user.is_staff:
        return redirect("admin:index")
    return render(request, "home.html")
