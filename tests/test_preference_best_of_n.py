"""Best-of-N generation: N seeds per prompt on a tiny pipeline, scored by the active models, one kept for pairing."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.pairing import eligible_videos
from generation.models import GenerationJob, Generator, Video
from preference.bestofn import choose
from preference.models import BestOfN, BestOfNCandidate, VideoScore
from tests.factories import make_campaign, make_prompt
from tests.preference_helpers import ready_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_wan():
    call_command("register_generators", tiny_only=True, verbosity=0)
    return Generator.objects.get(name="tiny-wan")


def test_refuses_without_active_models_and_generates_nothing(tiny_wan):
    make_prompt()
    with pytest.raises(CommandError, match="no active helpfulness model"):
        call_command("generate", "--prompts", "all", "--generators", "tiny-wan", "--best-of", "3")
    ready_model("helpfulness", active=True)
    with pytest.raises(CommandError, match="no active harmlessness model"):
        call_command("generate", "--prompts", "all", "--generators", "tiny-wan", "--best-of", "3",
                     "--select", "reward-with-cost-limit", "0")
    with pytest.raises(CommandError, match="needs one number"):
        call_command("generate", "--prompts", "all", "--generators", "tiny-wan", "--best-of", "3",
                     "--select", "reward-with-cost-limit")
    assert not GenerationJob.objects.exists() and not Video.objects.exists()


def test_keeps_the_best_candidate_records_all_scores_and_pairs_only_it(tiny_wan, media_root, capsys):
    prompt = make_prompt()
    ready_model("helpfulness", active=True)
    cost = ready_model("harmlessness", active=True)
    call_command("generate", "--prompts", "all", "--generators", "tiny-wan", "--best-of", "3",
                 "--select", "reward-with-cost-limit", "1e9")
    assert "best of 3: kept 1 videos" in capsys.readouterr().out

    choice = BestOfN.objects.get(prompt=prompt, generator=tiny_wan)
    candidates = list(choice.candidates.all())
    assert len(candidates) == 3 and sorted(c.seed for c in candidates) == [0, 1, 2]
    assert choice.chosen == max(candidates, key=lambda c: c.reward).video  # every cost is under the limit
    assert [c.chosen for c in candidates].count(True) == 1 and choice.cost_model == cost
    for c in candidates:  # the recorded scores are the models' scores of those videos
        assert VideoScore.objects.get(video=c.video, model=choice.reward_model).score == c.reward
        assert VideoScore.objects.get(video=c.video, model=cost).score == c.cost
    assert list(eligible_videos(make_campaign())) == [choice.chosen]
    assert BestOfNCandidate.objects.filter(chosen=False).count() == 2


def test_cost_limit_rule():
    a, b, c = {"reward": 3, "cost": 2}, {"reward": 2, "cost": -1}, {"reward": 1, "cost": -3}
    assert choose([a, b, c], "reward", None) is a
    assert choose([a, b, c], "reward-with-cost-limit", 0) is b  # the best reward among the safe enough
    assert choose([a, b, c], "reward-with-cost-limit", -10) is c  # none under the limit: the lowest cost
