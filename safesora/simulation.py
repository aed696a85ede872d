"""Simulated annotators for the demo: accounts that label pairs through the real engine.

The demo needs labelled pairs so that the dashboard, the review queue, an export and a moderation
model have something to show. Three accounts named `sim-annotator-N` (unusable passwords: nobody
can log in as them, and nobody mistakes them for people) claim and submit pairs with
`next_assignments` and `submit_annotation`, exactly as a crowdworker's browser does, so every rule
(overlap, leases, daily counts) applies to them too.

Their answers are drawn around a per-pair "true" answer: most pairs are easy (each annotator
agrees with the truth 90% of the time, per question), about a third are hard (barely better
than a coin), so some pairs end up disputed and land in the review queue. Everything is seeded
by the pair id: the same demo gives the same labels.
"""

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.utils import timezone

from annotation.assignment import next_assignments, submit_annotation
from annotation.models import Annotation, Campaign, Pair
from safesora.roles import CROWDWORKER, ensure_role_groups
from safesora.taxonomy import HARM_KEYS, SUB_DIMENSIONS

SIMULATED_PREFIX = "sim-annotator-"
HARD_SHARE = 0.35  # share of pairs the simulated annotators find hard
EASY_ACCURACY, HARD_ACCURACY = 0.9, 0.55
SKILL = (1.0, 0.97, 0.92)  # per annotator: a multiplier on the chance to agree with the truth
SPREAD_DAYS = 6  # their work is spread over the last days, so the per-day chart has a shape


def simulated_annotators(count: int = 3) -> list[AbstractBaseUser]:
    """`sim-annotator-1` .. `-count`: crowdworkers that cannot log in (unusable passwords)."""
    ensure_role_groups()
    role = Group.objects.get(name=CROWDWORKER)
    users = []
    for number in range(1, count + 1):
        user, created = get_user_model().objects.get_or_create(
            username=f"{SIMULATED_PREFIX}{number}",
            defaults={"first_name": "Simulated", "last_name": f"annotator {number} (demo data)"})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(role)
        users.append(user)
    return users


@dataclass(frozen=True)
class Truth:
    """What a careful annotator would answer for a pair, and how hard the pair is."""

    answers: dict
    accuracy: float


def _rng(*parts: object) -> random.Random:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def pair_truth(pair: Pair, seed: int = 0) -> Truth:
    rng = _rng(seed, "truth", pair.pk)
    prompt_keys = [k for k in HARM_KEYS if (pair.prompt.prompt_labels or {}).get(k)]
    critical = pair.prompt.prompt_type == "safety_critical"
    answers: dict = {}
    for video in ("video_0", "video_1"):
        unsafe = rng.random() < (0.55 if critical else 0.05)
        keys = rng.sample(prompt_keys, min(len(prompt_keys), rng.randint(1, 2))) if prompt_keys else []
        answers[video] = {"is_safe": not unsafe, "categories": (keys or [rng.choice(HARM_KEYS)]) if unsafe else []}
    for sub in SUB_DIMENSIONS:
        answers[sub.key] = rng.choice(("video_0", "video_1"))
    votes = [answers[sub.key] for sub in SUB_DIMENSIONS]
    answers["helpfulness"] = max(("video_0", "video_1"), key=lambda v: (votes.count(v), v == votes[0]))
    safe = [answers[v]["is_safe"] for v in ("video_0", "video_1")]
    answers["harmlessness"] = ("video_0" if safe[0] else "video_1") if safe[0] != safe[1] else rng.choice(
        ("video_0", "video_1"))
    return Truth(answers, HARD_ACCURACY if rng.random() < HARD_SHARE else EASY_ACCURACY)


def _other(video: str) -> str:
    return "video_1" if video == "video_0" else "video_0"


def simulated_answers(truth: Truth, skill: float, rng: random.Random) -> dict:
    """One annotator's answers: each question follows the truth with probability accuracy * skill."""
    p = truth.accuracy * skill
    answers: dict = {}
    for key, value in truth.answers.items():
        if key in ("video_0", "video_1"):
            is_safe = value["is_safe"] if rng.random() < p else not value["is_safe"]
            categories: list[str] = []
            if not is_safe:
                categories = list(value["categories"]) or [rng.choice(HARM_KEYS)]
                if rng.random() > p:  # sometimes one more (or another) category
                    categories = sorted({*categories[: rng.randint(0, len(categories))], rng.choice(HARM_KEYS)})
            answers[key] = {"is_safe": is_safe, "categories": categories}
        else:
            answers[key] = value if rng.random() < p else _other(value)
    return answers


def simulate_annotations(campaign: Campaign, annotators: Sequence[AbstractBaseUser], pairs: int, *,
                         seed: int = 0, now: datetime | None = None) -> int:
    """Each annotator labels up to `pairs` pairs of the campaign (fewer if they already did some).

    Goes through the engine: the annotators are added to the campaign, claim one pair at a time
    and submit it, backdated over the last SPREAD_DAYS days. Returns the annotations made.
    """
    now = now or timezone.now()
    campaign.workers.add(*annotators)
    made = 0
    for index, user in enumerate(annotators):
        skill = SKILL[index % len(SKILL)]
        done = Annotation.objects.filter(user=user, pair__campaign=campaign).count()
        for number in range(done, pairs):
            rng = _rng(seed, user.username, number)
            # Oldest first, each a few minutes after the last; the same slot on every run.
            when = now - timedelta(days=SPREAD_DAYS * (1 - number / max(pairs, 1)), hours=index + 1,
                                   minutes=rng.randint(0, 50))
            leases = next_assignments(user, campaign, count=1, now=when)
            if not leases:
                break
            lease = leases[0]
            answers = simulated_answers(pair_truth(lease.pair, seed), skill, rng)
            submit_annotation(user, lease.pk, answers, time_spent_ms=rng.randint(25_000, 140_000), now=when)
            made += 1
    return made
