from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from safesora.roles import is_crowdworker, is_reviewer


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff land in the admin, crowdworkers on their next pair, reviewers on the review queue."""
    if request.user.is_staff:
        return redirect("admin:index")
    if is_crowdworker(request.user):
        return redirect("annotation:annotate")
    if is_reviewer(request.user):
        return redirect("annotation:review_queue")
    return render(request, "home.html")
