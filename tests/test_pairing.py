"""Pairing: videos of one prompt from different generators, random sides, stable and idempotent."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import Pair
from annotation.pairing import build_pairs
from tests.factories import make_campaign, make_generator, make_prompt, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def videos():
    """Three prompts; each has one video from each of three generators, plus a second seed from one."""
    generators = [make_generator(f"g{i}") for i in range(3)]
    prompts = [make_prompt() for _ in range(3)]
    made = {p.id: [make_video(p, g) for g in generators] + [make_video(p, generators[0])] for p in prompts}
    return made


def sides(pair):
    return pair.video_0, pair.video_1


def test_all_combinations_of_different_generators_and_no_self_pairs(videos):
    campaign = make_campaign(overlap=2)
    report = build_pairs(campaign)
    # Per prompt: 4 videos, generators g0,g1,g2,g0: 6 combinations minus the one g0/g0 pair = 5.
    assert report.created == 15 and Pair.objects.filter(campaign=campaign).count() == 15
    for pair in Pair.objects.select_related("video_0", "video_1"):
        v0, v1 = sides(pair)
        assert v0.id != v1.id
        assert v0.generator_id != v1.generator_id
        assert v0.prompt_id == v1.prompt_id == pair.prompt_id
        assert pair.required_annotations == 2
        assert len(pair.id) == 64


def test_sides_are_randomized(videos):
    # With 15 pairs, a fixed rule (e.g. lower generator always left) would give one side every time.
    build_pairs(make_campaign())
    left = Counter(p.video_0.generator.name for p in Pair.objects.select_related("video_0__generator"))
    right = Counter(p.video_1.generator.name for p in Pair.objects.select_related("video_1__generator"))
    assert any(left[g] and right[g] for g in ("g0", "g1", "g2"))


def test_rerunning_adds_only_new_pairs_and_ids_are_stable(videos):
    campaign = make_campaign()
    build_pairs(campaign, seed=3)
    before = set(Pair.objects.values_list("id", "video_0_id", "video_1_id"))
    again = build_pairs(campaign, seed=99)  # even with another seed: nothing new, nothing flipped
    assert again.created == 0 and again.existing == 15
    assert set(Pair.objects.values_list("id", "video_0_id", "video_1_id")) == before
    # One more video for one prompt: only its pairs are added.
    prompt_id = next(iter(videos))
    make_video(videos[prompt_id][0].prompt, make_generator("g3"))
    assert build_pairs(campaign, seed=3).created == 4
    assert set(Pair.objects.values_list("id", "video_0_id", "video_1_id")) > before


def test_at_most_k_per_prompt_chosen_deterministically(videos):
    first, second = make_campaign(), make_campaign()
    build_pairs(first, max_per_prompt=2, seed=7)
    build_pairs(second, max_per_prompt=2, seed=7)
    per_prompt = Counter(Pair.objects.filter(campaign=first).values_list("prompt_id", flat=True))
    assert set(per_prompt.values()) == {2} and len(per_prompt) == 3

    def chosen(campaign):
        return {frozenset((v0, v1)) for v0, v1 in Pair.objects.filter(campaign=campaign)
                .values_list("video_0_id", "video_1_id")}

    assert chosen(first) == chosen(second)
    # Raising K later adds up to the new limit, keeping what exists.
    assert build_pairs(first, max_per_prompt=3, seed=7).created == 3
    assert build_pairs(first, max_per_prompt=3, seed=7).created == 0


def test_flagged_videos_are_left_out_when_the_campaign_says_so(videos):
    flagged = next(iter(videos.values()))[1]
    flagged.flagged = True
    flagged.save()
    strict = make_campaign(include_flagged=False)
    build_pairs(strict)
    assert not Pair.objects.filter(campaign=strict, video_0=flagged).exists()
    assert not Pair.objects.filter(campaign=strict, video_1=flagged).exists()
    assert Pair.objects.filter(campaign=strict).count() == 15 - 3  # g1 video of one prompt had 3 pairs
    lenient = make_campaign(include_flagged=True)
    build_pairs(lenient)
    assert Pair.objects.filter(campaign=lenient).count() == 15


def test_command_reports_and_refuses_unknown_campaign(videos, capsys):
    make_campaign("Main run")
    call_command("build_pairs", "--campaign", "Main run", "--max-per-prompt", "1")
    assert "3 pairs created" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No campaign named 'Nope'"):
        call_command("build_pairs", "--campaign", "Nope")
