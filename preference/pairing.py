"""Uncertainty-driven pairing: which of a prompt's candidate pairs the active reward model finds closest.

annotation.pairing calls `uncertainty_rank` for the `uncertain` strategy; a smaller key means a
pair whose two videos the model scores closer, i.e. where its Bradley-Terry probability is
nearest 1/2 and a label teaches it most.
"""

from collections.abc import Callable

from django.db.models import QuerySet

from .models import PreferenceModel
from .scoring import NoActiveModel, scores_for

DIMENSION = "helpfulness"


def uncertainty_rank(videos: QuerySet, dimension: str = DIMENSION) -> Callable[[tuple[str, str]], tuple]:
    model = PreferenceModel.active(dimension)
    if model is None:
        raise NoActiveModel(f"no active {dimension} model to rank pairs by: train one and activate it, or pair "
                            "at random")
    scores = scores_for(videos.select_related(None), model)

    def key(pair: tuple[str, str]) -> tuple:
        a, b = pair
        return abs(scores[a] - scores[b]), tuple(sorted(pair))

    return key
