"""The staff leaderboard page and its CSV / PNG downloads (thin: preference.leaderboard computes)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.decorators import staff_required

from . import leaderboard


def _board(request: HttpRequest) -> leaderboard.Leaderboard:
    prompts = "eval" if request.GET.get("prompts") == "eval" else "all"
    return leaderboard.build(prompts)


@staff_required
def leaderboard_page(request: HttpRequest) -> HttpResponse:
    board = _board(request)
    matrices = [{"dimension": d, "model": board.models[d], "rows": board.matrix(d)} for d in board.dimensions()]
    unsafe = [r for r in board.unsafe_rates if r["category"] == "unsafe"]
    return render(request, "preference/leaderboard.html", {"board": board, "matrices": matrices,
                                                           "unsafe": unsafe, "categories": board.unsafe_rates})


@staff_required
def leaderboard_csv(request: HttpRequest) -> HttpResponse:
    board = _board(request)
    response = HttpResponse(leaderboard.to_csv(board), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="leaderboard-{board.prompts}.csv"'
    return response


@staff_required
def leaderboard_png(request: HttpRequest) -> HttpResponse:
    return HttpResponse(leaderboard.to_png(_board(request)), content_type="image/png")
