"""Pairs for a campaign: two videos of one prompt from different generators, in random order.

Re-running adds only the pairs that are new (a pair is the same pair whichever side each video
is on), so pairing can follow generation as more videos arrive.
"""

import itertools
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet

from generation.models import Prompt, Video, stable_id
from safesora.db import bulk_insert

from .models import Campaign, Pair


@dataclass
class PairingReport:
    videos: int = 0
    prompts: int = 0  # prompts with at least one new pair
    created: int = 0
    existing: int = 0  # pairs the campaign had already

    def summary(self) -> str:
        return (f"{self.created} pairs created over {self.prompts} prompts from {self.videos} videos "
                f"({self.existing} existed already)")


def pair_id(campaign: Campaign, video_a: str, video_b: str) -> str:
    """Stable, and the same whichever video is on the left."""
    return stable_id("pair", campaign.pk, *sorted((video_a, video_b)))


def _left_is_first(seed: int, pid: str) -> bool:
    """Which video goes left: a fair coin per pair, fixed by the seed."""
    return int(stable_id("side", seed, pid)[:8], 16) % 2 == 0


def eligible_videos(campaign: Campaign, prompts: QuerySet | None = None) -> QuerySet:
    videos = Video.objects.all()
    if prompts is not None:
        videos = videos.filter(prompt__in=prompts)
    if not campaign.include_flagged:
        videos = videos.filter(flagged=False)
    # Best-of-N (preference.bestofn): only the kept candidate of a group is paired.
    return videos.exclude(best_of_n__chosen=False)


STRATEGIES = ("random", "uncertain")


def build_pairs(campaign: Campaign, *, max_per_prompt: int | None = None, seed: int = 0,
                prompts: QuerySet[Prompt] | None = None, strategy: str | None = None) -> PairingReport:
    """Create the campaign's pairs: per prompt, every two videos of different generators, or at most
    `max_per_prompt` pairs per prompt (existing ones count), chosen at random from `seed` or, with
    the `uncertain` strategy (default: the campaign's), those whose two videos the active reward
    model scores closest (preference.pairing). The `uncertain` strategy also gives the new pairs a
    serving priority, so the engine serves the hardest to tell apart first."""
    strategy = strategy or campaign.pairing_strategy
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown pairing strategy {strategy!r}: use random or uncertain")
    if max_per_prompt is not None and max_per_prompt < 1:
        raise ValueError("max_per_prompt must be at least 1")
    rank = None
    if strategy == "uncertain":
        from preference.pairing import uncertainty_rank

        rank = uncertainty_rank(eligible_videos(campaign, prompts))  # raises without an active reward model
    with transaction.atomic():
        # Lock the campaign: two pairing runs at once would both add the same new pairs.
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
        return _build(campaign, max_per_prompt, seed, prompts, rank)


def _build(campaign: Campaign, max_per_prompt: int | None, seed: int, prompts: QuerySet | None,
           rank=None) -> PairingReport:
    report = PairingReport()
    existing: dict[str, set[frozenset]] = defaultdict(set)
    for v0, v1, prompt_id in Pair.objects.filter(campaign=campaign).values_list("video_0_id", "video_1_id",
                                                                              "prompt_id").iterator(5000):
        existing[prompt_id].add(frozenset((v0, v1)))
        report.existing += 1
    rows = (eligible_videos(campaign, prompts).order_by("prompt_id", "generator_id", "id")
            .values_list("prompt_id", "generator_id", "id"))
    new: list[Pair] = []
    for prompt_id, group in itertools.groupby(rows.iterator(5000), key=lambda row: row[0]):
        videos = [(generator_id, video_id) for _, generator_id, video_id in group]
        report.videos += len(videos)
        have = existing[prompt_id]
        candidates = [(a[1], b[1]) for a, b in itertools.combinations(videos, 2)
                      if a[0] != b[0] and frozenset((a[1], b[1])) not in have]
        if max_per_prompt is not None:
            room = max_per_prompt - len(have)
            if room <= 0:
                continue
            # Rank by a hash of (seed, pair): deterministic, and independent of other prompts; or
            # hardest to tell apart first.
            candidates.sort(key=rank or (lambda c: stable_id("pick", seed, *sorted(c))))
            candidates = candidates[:room]
        for a, b in candidates:
            pid = pair_id(campaign, a, b)
            left, right = (a, b) if _left_is_first(seed, pid) else (b, a)
            new.append(Pair(id=pid, campaign_id=campaign.pk, prompt_id=prompt_id, video_0_id=left, video_1_id=right,
                            required_annotations=campaign.overlap))
        report.prompts += bool(candidates)
    if rank is not None:
        # Served hardest-to-tell-apart first: the engine takes higher priorities first.
        new.sort(key=lambda pair: rank((pair.video_0_id, pair.video_1_id)))
        for position, pair in enumerate(new):
            pair.serve_priority = len(new) - position
    report.created = bulk_insert(Pair, new)
    return report
