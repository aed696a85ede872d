"""`manage.py export` and its filters: what each one keeps out, and that the manifest says so."""

import datetime
import gzip
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotation.models import Annotation
from exports.manifest import read as read_manifest
from tests.export_project import build_project


@pytest.fixture
def project(db, settings, tmp_path):
    settings.EXPORTS_ROOT = tmp_path / "exports"
    return build_project()


def export(name, *args):
    call_command("export", "--name", name, "--no-videos", "--no-progress", "--seed", "1", *args)
    from django.conf import settings

    root = settings.EXPORTS_ROOT / name
    return root, read_manifest(root)


def pair_ids(root) -> set[str]:
    ids = set()
    for split in ("train", "test"):
        with gzip.open(root / f"safesora/preference/config-{split}.json.gz", "rt") as fh:
            ids |= {r["pair_id"] for r in json.load(fh)}
    return ids


def test_defaults_leave_out_gold_incomplete_and_eval_and_skip_video_bytes(project):
    root, manifest = export("plain")
    p = project.pairs
    assert pair_ids(root) == {p["majority"].id, p["unanimous"].id, p["reviewed"].id}
    assert manifest["counts"]["pairs_skipped"] == {"eval_prompt": 1, "incomplete": 1}
    assert manifest["options"]["include_videos"] is False
    assert not (root / "safesora/label/videos").exists()
    assert manifest["code_version"].startswith(("git ", "safesora-platform "))


def test_include_gold_and_incomplete(project):
    root, manifest = export("everything", "--include-gold", "--include-incomplete")
    p = project.pairs
    assert pair_ids(root) == {p["majority"].id, p["unanimous"].id, p["reviewed"].id, p["gold"].id, p["partial"].id}
    assert manifest["options"]["exclude_gold"] is False and manifest["options"]["complete_only"] is False


def test_min_agreement_makes_split_answers_undecided(project):
    root, manifest = export("strict", "--min-agreement", "0.9")
    p = project.pairs
    # The 2-1 pair drops out of SafeSora's format; the reviewed pair stays (the reviewer settled it).
    assert pair_ids(root) == {p["unanimous"].id, p["reviewed"].id}
    assert manifest["counts"]["below_min_agreement_by_question"]["harmlessness"] == 1
    assert manifest["counts"]["pairs_undecided"] == 2  # the tie and the 2-1 pair


def test_generator_and_campaign_filters(project):
    root, manifest = export("alpha-beta", "--generator", "alpha", "--generator", "beta")
    # The tie (alpha vs gamma) and the reviewed pair (alpha vs gamma) are left out.
    assert pair_ids(root) == {project.pairs["majority"].id, project.pairs["unanimous"].id}
    assert manifest["counts"]["pairs_seen"] == 3  # and the eval prompt's pair (gold is filtered out in SQL)
    root, _ = export("main-only", "--campaign", "main")
    assert len(pair_ids(root)) == 3
    with pytest.raises(CommandError, match="no such generator: nope"):
        export("bad", "--generator", "nope")


def test_date_range_selects_answers(project):
    # Move two annotations of the unanimous pair a week back: before that, it had only one answer.
    week_ago = timezone.now() - datetime.timedelta(days=7)
    old = Annotation.objects.filter(pair=project.pairs["unanimous"]).order_by("id")[:2]
    Annotation.objects.filter(pk__in=[a.pk for a in old]).update(submitted_at=week_ago)
    cutoff = (week_ago + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    root, manifest = export("early", "--until", cutoff, "--include-incomplete")
    assert pair_ids(root) == {project.pairs["unanimous"].id}
    assert manifest["counts"]["annotations"] == 2 and manifest["options"]["until"].startswith(cutoff[:10])
    root, _ = export("late", "--since", cutoff)
    assert project.pairs["unanimous"].id not in pair_ids(root)  # only one of its answers is that recent


def test_bad_input_is_refused_before_anything_is_written(project, settings):
    export("taken")
    with pytest.raises(CommandError, match="already exists"):
        export("taken")
    with pytest.raises(CommandError, match="test fraction"):
        export("x", "--test-fraction", "1.5")
    with pytest.raises(CommandError, match="date range is empty"):
        export("y", "--since", "2025-02-01", "--until", "2025-01-01")
    with pytest.raises(CommandError):
        export("z", "--until", "next tuesday")
    assert sorted(p.name for p in settings.EXPORTS_ROOT.iterdir()) == ["taken"]


def test_the_readme_example_keeps_two_of_three_majorities(project):
    p = project.pairs
    for name, written in [("two-decimals", "0.67"), ("fraction", "2/3")]:
        root, manifest = export(name, "--min-agreement", written)
        assert pair_ids(root) == {p["majority"].id, p["unanimous"].id, p["reviewed"].id}
        assert manifest["counts"]["below_min_agreement_by_question"]["harmlessness"] == 0


def test_min_agreement_that_is_not_a_share_is_refused(project):
    with pytest.raises(CommandError, match="not a share"):
        export("bad", "--min-agreement", "two thirds")


def test_a_small_export_with_empty_splits_loads_with_the_plain_call(project, tmp_path):
    import datasets
    import yaml

    # Only the 2-1 pair's generators: one train pair, no test pair, no eval prompt.
    root, manifest = export("small", "--generator", "alpha", "--generator", "beta", "--test-fraction", "0")
    hf = root / "hf"
    header = yaml.safe_load((hf / "README.md").read_text().split("---\n")[1])
    sizes = {info["config_name"]: {s["name"]: s["num_examples"] for s in info["splits"]}
             for info in header["dataset_info"]}
    assert all(n > 0 for by_split in sizes.values() for n in by_split.values())
    assert "test" not in sizes["pairs"]
    for config in [c["config_name"] for c in header["configs"]]:
        loaded = datasets.load_dataset(str(hf), config, cache_dir=str(tmp_path / "cache"))
        assert {name: len(split) for name, split in loaded.items()} == sizes[config], config
    assert sizes["pairs"]["train"] == 2
