"""Reward and cost models, trained by the real job (train_preference), learn a planted preference and nothing else.

The crowd of tests.synthetic_preferences prefers the clip with a planted red disk (and, on harmlessness,
the one without it, which is also the only safe one). Trained on it a model must agree with the
crowd on >= 95% of held-out pairs; on the same kind of data with every choice flipped at random
it must stay at chance (0.5 +/- 0.07 on 240 pairs): above it would mean a leak between the
splits or a cue in the pair's layout.
"""

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from moderation.models import ModelState
from preference.data import load_pairs
from preference.models import PreferenceModel
from preference.train import PreferenceConfig, split_by_prompt
from tests.preference_helpers import FEATURE_CACHE, TEST_PAIRS, TINY, planted_release, shuffled_release

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def train_command(folder, dimension: str, *extra) -> PreferenceModel:
    call_command("train_preference", "--export", str(folder), "--dimension", dimension, *TINY, *extra, verbosity=0)
    return PreferenceModel.objects.filter(dimension=dimension).order_by("-version").first()


@pytest.fixture
def runs(tmp_path, settings):
    settings.PREFERENCE_DIR = tmp_path / "runs"
    settings.FEATURE_CACHE_DIR = FEATURE_CACHE
    return settings.PREFERENCE_DIR


def test_reward_model_learns_the_planted_preference(runs):
    model = train_command(planted_release(), "helpfulness", "--epochs", "3", "--patience", "2")

    assert model.state == ModelState.READY and model.kind == "reward" and model.progress == 1.0
    test = model.metrics["test"]
    assert test["pairs"] == TEST_PAIRS
    assert test["agreement"] >= 0.95, test
    assert test["ci_low"] <= test["agreement"] <= test["ci_high"]
    by = test["by_crowd_agreement"]
    assert by["unanimous"]["pairs"] > 0 and by["majority"]["pairs"] > 0
    assert by["unanimous"]["pairs"] + by["majority"]["pairs"] == TEST_PAIRS
    assert sum(b["pairs"] for b in test["calibration"]["bins"]) == TEST_PAIRS
    assert set(test["scores_by_generator"]) == {"gen-a", "gen-b"}
    report = Path(model.report_path)
    assert "agreement with the crowd majority" in (report / "model_card.md").read_text()
    for image in ("calibration.png", "scores_by_generator.png"):
        assert (report / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # No prompt in two splits, as the run itself recorded them.
    splits = json.loads((model.run_dir / "splits.json").read_text())
    train, val, test_prompts = (set(splits[s]) for s in ("train", "validation", "test"))
    assert train and val and test_prompts
    assert not (train & val) and not (train & test_prompts) and not (val & test_prompts)


def test_cost_model_learns_the_pairs_and_the_sign(runs):
    model = train_command(planted_release(), "harmlessness", "--epochs", "3", "--patience", "2")

    assert model.kind == "cost"
    test = model.metrics["test"]
    assert test["agreement"] >= 0.95, test
    sign = test["cost_sign"]
    assert sign["videos"] == 2 * TEST_PAIRS and sign["accuracy"] >= 0.95, sign
    assert "cost sign against the crowd's is_safe" in (Path(model.report_path) / "model_card.md").read_text()
    # The clips came from the shared cache the helpfulness run (or an earlier one) filled, or filled it now.
    assert any(FEATURE_CACHE.rglob("*.npy"))


def test_shuffled_preferences_stay_at_chance(runs):
    model = train_command(shuffled_release(), "helpfulness", "--epochs", "3", "--patience", "2")

    agreement = model.metrics["test"]["agreement"]
    assert 0.43 <= agreement <= 0.57, model.metrics["test"]


def test_split_by_prompt_keeps_each_prompt_whole():
    pairs = load_pairs(planted_release()).train
    for seed in range(5):
        train, val = split_by_prompt(pairs, PreferenceConfig().val_fraction, seed)
        assert len(train) + len(val) == len(pairs) and val
        assert not {p.prompt_id for p in train} & {p.prompt_id for p in val}
