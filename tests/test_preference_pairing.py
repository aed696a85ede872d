"""build_pairs --strategy uncertain (and the campaign setting): the closest pairs by the active reward model first."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.assignment import next_assignments
from annotation.models import Pair
from tests.factories import make_campaign, make_generator, make_prompt, make_user
from tests.preference_helpers import ready_model, video_with_clip

pytestmark = pytest.mark.django_db


@pytest.fixture
def prompt_videos(media_root):
    """One prompt, three generators: a clip with the planted disk and two without (hard to tell apart)."""
    prompt = make_prompt()
    return {name: video_with_clip(prompt, make_generator(name), disk=name == "disk", seed=i, media_root=media_root)
            for i, name in enumerate(("disk", "plain1", "plain2"))}


def built(campaign) -> set[frozenset]:
    return {frozenset((p.video_0_id, p.video_1_id)) for p in Pair.objects.filter(campaign=campaign)}


def test_uncertain_strategy_builds_the_closest_pair(prompt_videos):
    campaign = make_campaign("uncertain-cli")
    with pytest.raises(CommandError, match="no active helpfulness model"):
        call_command("build_pairs", "--campaign", campaign.name, "--max-per-prompt", "1", "--strategy", "uncertain")
    assert not Pair.objects.exists()

    ready_model("helpfulness", active=True)
    call_command("build_pairs", "--campaign", campaign.name, "--max-per-prompt", "1", "--strategy", "uncertain",
                 verbosity=0)
    assert built(campaign) == {frozenset((prompt_videos["plain1"].pk, prompt_videos["plain2"].pk))}

    # The campaign's own setting is the default strategy.
    setting = make_campaign("uncertain-setting", pairing_strategy="uncertain")
    call_command("build_pairs", "--campaign", setting.name, "--max-per-prompt", "1", verbosity=0)
    assert built(setting) == built(campaign)
    # Random pairing over these seeds picks a pair with the disk at least once: the strategy changes the choice.
    picks = set()
    for seed in range(6):
        other = make_campaign(f"random-{seed}")
        call_command("build_pairs", "--campaign", other.name, "--max-per-prompt", "1", "--seed", str(seed),
                     verbosity=0)
        picks |= built(other)
    assert any(prompt_videos["disk"].pk in pair for pair in picks)


def test_uncertain_pairs_are_served_hardest_to_tell_apart_first(prompt_videos):
    ready_model("helpfulness", active=True)
    campaign = make_campaign("uncertain-order", pairing_strategy="uncertain", gold_rate=0, overlap=1)
    call_command("build_pairs", "--campaign", campaign.name, verbosity=0)  # all three pairs of the prompt
    assert len(built(campaign)) == 3
    worker = make_user("uncertain-worker")
    campaign.workers.add(worker)
    first, *rest = next_assignments(worker, count=3)
    plain = frozenset((prompt_videos["plain1"].pk, prompt_videos["plain2"].pk))
    assert frozenset((first.pair.video_0_id, first.pair.video_1_id)) == plain  # neither has the disk
    assert first.pair.serve_priority > max(lease.pair.serve_priority for lease in rest) > 0
