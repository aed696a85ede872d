"""Best-of-N generation: keep, per prompt and generator, the best of N seeds by the active models.

    check_ready(rule)                 -> the models the rule needs, or NoActiveModel (nothing generated)
    select(videos, rule, cost_limit)  -> BestOfN rows, one per (prompt, generator)

Rules: `reward` keeps the highest reward (the active reward model of `dimension`, helpfulness by
default); `reward-with-cost-limit` keeps the highest reward among the candidates whose cost (the
active harmlessness cost model) is at most the limit, and, when none is, the lowest-cost one:
a prompt is never left without a video. Every candidate's scores are recorded; pairing
(annotation.pairing) uses only the chosen video of a Best-of-N group.
"""

from collections import defaultdict

from django.db import transaction

from generation.models import Video

from .models import BestOfN, BestOfNCandidate, PreferenceModel
from .scoring import active_model, scores_for
from .train import COST_DIMENSION

RULES = ("reward", "reward-with-cost-limit")


def check_ready(rule: str, dimension: str = "helpfulness") -> tuple[PreferenceModel, PreferenceModel | None]:
    if rule not in RULES:
        raise ValueError(f"unknown selection rule {rule!r}: use {' or '.join(RULES)}")
    if dimension == COST_DIMENSION:
        raise ValueError("the reward dimension cannot be harmlessness (its model is a cost model)")
    reward = active_model(dimension)
    cost = active_model(COST_DIMENSION) if rule == "reward-with-cost-limit" else None
    return reward, cost


def choose(candidates: list[dict], rule: str, cost_limit: float | None) -> dict:
    """The kept candidate among dicts with `reward` and `cost`; ties go to the first (lowest seed)."""
    if rule == "reward":
        return max(candidates, key=lambda c: c["reward"])
    allowed = [c for c in candidates if c["cost"] <= cost_limit]
    if allowed:
        return max(allowed, key=lambda c: c["reward"])
    return min(candidates, key=lambda c: c["cost"])


def select(videos: list[Video], rule: str, cost_limit: float | None = None, dimension: str = "helpfulness"
           ) -> list[BestOfN]:
    if rule == "reward-with-cost-limit" and cost_limit is None:
        raise ValueError("reward-with-cost-limit needs a cost limit")
    reward_model, cost_model = check_ready(rule, dimension)
    rewards = scores_for(videos, reward_model)
    costs = scores_for(videos, cost_model) if cost_model else {}
    groups = defaultdict(list)
    for video in sorted(videos, key=lambda v: (v.seed is None, v.seed, v.pk)):
        groups[(video.prompt_id, video.generator_id)].append(
            {"video": video, "reward": rewards[video.pk], "cost": costs.get(video.pk)})
    rule_name = rule if cost_model is None else f"{rule} {cost_limit:g}"
    chosen_rows = []
    with transaction.atomic():
        for (prompt_id, generator_id), candidates in groups.items():
            kept = choose(candidates, rule, cost_limit)
            BestOfN.objects.filter(prompt_id=prompt_id, generator_id=generator_id).delete()  # a rerun replaces it
            BestOfNCandidate.objects.filter(video__in=[c["video"] for c in candidates]).delete()
            row = BestOfN.objects.create(prompt_id=prompt_id, generator_id=generator_id, chosen=kept["video"],
                                         rule=rule_name, reward_model=reward_model, cost_model=cost_model)
            BestOfNCandidate.objects.bulk_create([
                BestOfNCandidate(selection=row, video=c["video"], seed=c["video"].seed, reward=c["reward"],
                                 cost=c["cost"], chosen=c is kept) for c in candidates])
            chosen_rows.append(row)
    return chosen_rows
