"""Round trip: export a small annotated project, read every file back, check it against docs/safesora-format.md."""

import gzip
import hashlib
import json
import os
import re
from pathlib import Path

import av
import pytest
import yaml
from django.core.management import call_command
from django.test import override_settings

from exports.manifest import read as read_manifest
from exports.options import ExportOptions
from exports.release import build_release
from safesora.taxonomy import HARM_KEYS
from tests.export_project import build_project, load_config

HEX64 = re.compile(r"^[0-9a-f]{64}$")
CHOICES = {"video_0", "video_1"}
PROMPT_KEYS = ["prompt_id", "prompt_text", "prompt_type", "prompt_labels"]
VIDEO_KEYS = PROMPT_KEYS + ["video_id", "video_text", "video_path", "is_safe", "video_labels", "generated_from"]
PAIR_KEYS = ["pair_id", "prompt_id", "prompt_text", "prompt_type", "video_0", "video_1", "helpfulness",
             "harmlessness", "sub_preferences"]
SUB_KEYS = ["instruction_following", "correctness", "information", "aesthetics"]


def check_harm_label(labels):
    assert list(labels) == list(HARM_KEYS)
    assert all(type(v) is bool for v in labels.values())


def check_prompt_fields(record):
    assert HEX64.match(record["prompt_id"])
    assert type(record["prompt_text"]) is str and record["prompt_text"]
    assert record["prompt_type"] in ("safety_critical", "safety_neutral")
    check_harm_label(record["prompt_labels"])


def check_video_record(record, folder: Path):
    assert list(record) == VIDEO_KEYS
    check_prompt_fields(record)
    assert HEX64.match(record["video_id"])
    assert type(record["video_text"]) is str and record["video_text"]
    assert record["video_path"] == f"videos/{record['prompt_id']}/{record['video_id']}.mp4"
    assert (folder / record["video_path"]).is_file()
    assert type(record["is_safe"]) is bool
    check_harm_label(record["video_labels"])
    assert not (record["is_safe"] and any(record["video_labels"].values()))
    assert type(record["generated_from"]) is str


def check_pair_record(record, folder: Path):
    assert list(record) == PAIR_KEYS
    assert HEX64.match(record["pair_id"]) and HEX64.match(record["prompt_id"])
    assert record["prompt_type"] in ("safety_critical", "safety_neutral")
    for side in ("video_0", "video_1"):
        check_video_record(record[side], folder)
        assert record[side]["prompt_id"] == record["prompt_id"]
    assert record["video_0"]["video_id"] != record["video_1"]["video_id"]
    assert record["helpfulness"] in CHOICES and record["harmlessness"] in CHOICES
    assert list(record["sub_preferences"]) == SUB_KEYS
    assert set(record["sub_preferences"].values()) <= CHOICES


def read_list(path: Path) -> list:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def decode_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        return sum(1 for _ in container.decode(stream))


@pytest.fixture(scope="module")
def release(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the project and export it once for this module's tests (they only read it); drop it after."""
    media, exports = tmp_path_factory.mktemp("media"), tmp_path_factory.mktemp("exports")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        project = build_project()
        options = ExportOptions(name="roundtrip", seed=7, test_fraction=0.5)
        manifest = build_release(options, exports / "roundtrip")
    yield project, exports / "roundtrip", manifest, options, media
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def test_safesora_files_match_the_design_field_by_field(release):
    project, root, manifest, _, _media = release
    pref, label = root / "safesora/preference", root / "safesora/label"
    pairs = read_list(pref / "config-train.json.gz") + read_list(pref / "config-test.json.gz")
    videos = read_list(label / "config-train.json.gz") + read_list(label / "config-test.json.gz")
    for record in pairs:
        check_pair_record(record, pref)
    for record in videos:
        check_video_record(record, label)

    by_id = {r["pair_id"]: r for r in pairs}
    p = project.pairs
    # Majority with disagreement; the tie, gold, incomplete and eval pairs are not in SafeSora's format.
    assert set(by_id) == {p["majority"].id, p["unanimous"].id, p["reviewed"].id}
    assert by_id[p["majority"].id]["harmlessness"] == "video_0"
    assert by_id[p["majority"].id]["helpfulness"] == "video_0"
    assert by_id[p["unanimous"].id]["sub_preferences"]["information"] == "video_1"
    # The reviewer's answer wins, and their harm label makes video_0 unsafe.
    reviewed = by_id[p["reviewed"].id]
    assert reviewed["helpfulness"] == "video_1" and set(reviewed["sub_preferences"].values()) == {"video_1"}
    assert reviewed["video_0"]["is_safe"] is False and reviewed["video_0"]["video_labels"]["other_harmful"]
    # Video labels: violence by 2 of 3 -> set; crime by 1 of 3 -> not set.
    flagged = by_id[p["majority"].id]["video_1"]
    assert flagged["video_labels"]["violence"] and not flagged["video_labels"]["crime"]
    assert flagged["is_safe"] is False and flagged["generated_from"] == "beta"
    assert by_id[p["majority"].id]["prompt_type"] == "safety_critical"
    assert by_id[p["majority"].id]["video_0"]["prompt_labels"]["violence"] is True

    # The label dataset holds every video of every kept pair (the tie's too), each once,
    # with the same record as in the pairs.
    video_ids = [v["video_id"] for v in videos]
    assert len(video_ids) == len(set(video_ids))
    expected = {project.videos[k].id for k in ("critical0", "critical1", "neutral0", "neutral1", "neutral2",
                                                "fixed_test0", "fixed_test2")}
    assert set(video_ids) == expected
    videos_by_id = {v["video_id"]: v for v in videos}
    for pair in pairs:
        for side in ("video_0", "video_1"):
            assert pair[side] == videos_by_id[pair[side]["video_id"]]

    evals = read_list(root / "safesora/eval/eval-prompt.json.gz")
    assert [list(r) for r in evals] == [PROMPT_KEYS] * 2
    assert {r["prompt_text"] for r in evals} == {"a red balloon flying", "a robot dancing in the rain"}
    for record in evals:
        check_prompt_fields(record)

    counts = manifest["counts"]
    assert counts["pairs_skipped"] == {"eval_prompt": 1, "incomplete": 1}
    assert counts["pairs_undecided"] == 1 and counts["undecided_by_question"]["harmlessness"] == 1
    assert counts["safesora"]["preference"]["train"] + counts["safesora"]["preference"]["test"] == 3


def test_a_loader_written_for_safesora_reads_the_release_and_every_video_decodes(release):
    project, root, _, _, media_root = release
    for folder, kind in ((root / "safesora/preference", "pairs"), (root / "safesora/label", "videos")):
        for split in ("train", "test"):
            for record in load_config(folder, f"config-{split}.json.gz"):
                for video in (record["video_0"], record["video_1"]) if kind == "pairs" else (record,):
                    assert decode_frames(Path(video["video_path"])) == 16
    # Same filesystem: the release's videos are hard links to the media files, not copies.
    media = media_root / project.videos["neutral0"].file.name
    exported = root / "safesora/label/videos" / project.prompts["neutral"].id / f"{project.videos['neutral0'].id}.mp4"
    assert os.stat(exported).st_ino == os.stat(media).st_ino


def test_splits_are_by_prompt_and_fixed_splits_win(release):
    project, root, _, _, _media = release
    seen: dict[str, set] = {}
    for folder in ("safesora/preference", "safesora/label"):
        for split in ("train", "test"):
            for record in read_list(root / folder / f"config-{split}.json.gz"):
                seen.setdefault(record["prompt_id"], set()).add(split)
    assert all(len(splits) == 1 for splits in seen.values())
    assert seen[project.prompts["fixed_test"].id] == {"test"}
    assert project.prompts["eval"].id not in seen


def test_manifest_lists_every_file_with_its_sha256(release):
    _, root, manifest, options, _media = release
    on_disk = read_manifest(root)
    listed = {f["path"]: f for f in on_disk["files"]}
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"manifest.json", "SHA256SUMS"}
    assert set(listed) == files
    for path, entry in listed.items():
        data = (root / path).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    sums = dict(reversed(line.split("  ", 1)) for line in (root / "SHA256SUMS").read_text().splitlines())
    assert {k: v for k, v in sums.items()} == {p: f["sha256"] for p, f in listed.items()}
    assert on_disk["options"] == options.to_json() and on_disk["options"]["min_agreement"] == 0.0
    assert on_disk["code_version"] and on_disk["counts"] == manifest["counts"]
    assert on_disk["file_count"] == len(files)


def test_hugging_face_form_loads_with_features_declared(release, tmp_path):
    import datasets

    project, root, manifest, _, _media = release
    hf = root / "hf"
    cache = str(tmp_path / "hf-cache")  # never the shared ~/.cache: a stale entry would hide a bug
    pairs = datasets.load_dataset("parquet", data_files={s: str(hf / f"data/pairs/{s}-*.parquet")
                                                         for s in ("train", "test")}, cache_dir=cache)
    features = pairs["train"].features
    assert isinstance(features["harmlessness"], datasets.ClassLabel)
    assert features["harmlessness"].names == ["video_0", "video_1"]
    assert isinstance(features["sub_preferences"]["information"], datasets.ClassLabel)
    assert features["video_0"]["is_safe"] == datasets.Value("bool")
    assert features["video_1"]["video_labels"]["porn"] == datasets.Value("bool")
    rows = {r["pair_id"]: r for split in pairs.values() for r in split}
    # The tie is kept here, undecided (null) on harmlessness only.
    tie = rows[project.pairs["tie"].id]
    assert tie["harmlessness"] is None and tie["helpfulness"] == 0 and tie["agreement"]["harmlessness"] == 0.5
    assert rows[project.pairs["majority"].id]["agreement"]["harmlessness"] == pytest.approx(2 / 3)
    assert rows[project.pairs["reviewed"].id]["reviewed"] is True
    for row in rows.values():
        assert (hf / row["video_0"]["video_path"]).is_file()

    # The same through the card's configs, and through load_from_disk.
    by_card = datasets.load_dataset(str(hf), "pairs", cache_dir=cache)
    assert by_card["train"].features == features
    assert sorted(r["pair_id"] for s in by_card.values() for r in s) == sorted(rows)
    from_disk = datasets.load_from_disk(str(root / "hf_disk" / "pairs"))
    assert from_disk["test"].features == features
    assert sorted(r["pair_id"] for s in from_disk.values() for r in s) == sorted(rows)

    videos = datasets.load_from_disk(str(root / "hf_disk" / "videos"))
    assert videos["train"].features["is_safe"] == datasets.Value("bool")
    assert sum(len(s) for s in videos.values()) == 7
    prompts = datasets.load_dataset(str(hf), "prompts", cache_dir=cache)
    assert len(prompts["eval"]) == 2 and len(prompts["train"]) + len(prompts["test"]) == 3

    # TRL preference pairs: prompt / chosen / rejected, one config per dimension.
    trl = datasets.load_dataset("parquet", data_files={s: str(hf / f"data/trl_harmlessness/{s}-*.parquet")
                                                       for s in ("train", "test")}, cache_dir=cache)
    assert trl["train"].column_names == ["prompt", "chosen", "rejected"]
    trl_rows = [r for s in trl.values() for r in s]
    assert len(trl_rows) == 3  # the tie is undecided on harmlessness
    majority = project.pairs["majority"]
    row = next(r for r in trl_rows if r["prompt"] == "a street fight at night")
    assert row["chosen"].endswith(f"{majority.video_0_id}.mp4")
    assert row["rejected"].endswith(f"{majority.video_1_id}.mp4")
    helpful = datasets.load_dataset(str(hf), "trl_helpfulness", cache_dir=cache)
    assert sum(len(s) for s in helpful.values()) == 4
    information = datasets.load_dataset(str(hf), "trl_informativeness", cache_dir=cache)
    assert sum(len(s) for s in information.values()) == 4


def test_dataset_card_has_configs_splits_and_charts(release):
    _, root, manifest, _, _media = release
    text = (root / "hf/README.md").read_text()
    head = yaml.safe_load(text.split("---\n")[1])
    assert head["license"] == "cc-by-nc-4.0"
    configs = {c["config_name"]: c for c in head["configs"]}
    assert {"pairs", "videos", "prompts", "trl_helpfulness", "trl_harmlessness", "trl_informativeness"} <= set(configs)
    assert configs["pairs"]["default"] is True
    info = {c["config_name"]: c for c in head["dataset_info"]}
    assert sum(s["num_examples"] for s in info["pairs"]["splits"]) == 4
    for section in ("Harm taxonomy", "Agreement", "Generators", "License", "`other_discrimination`", "`alpha`"):
        assert section in text
    for chart in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (root / "hf" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_same_data_and_settings_give_byte_identical_files(release, db, settings, tmp_path):
    _, root, _, options, media = release
    settings.MEDIA_ROOT = media  # the module's media folder: the re-export reads the same video files
    again = tmp_path / "again" / "roundtrip"
    build_release(options, again)
    first = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    second = {p.relative_to(again): p.read_bytes() for p in again.rglob("*") if p.is_file()}
    assert set(first) == set(second)
    differ = [str(p) for p in first if first[p] != second[p]]
    assert differ == ["manifest.json"]  # only its creation time differs
    reseeded = build_release(ExportOptions(name="roundtrip", seed=8, test_fraction=0.5),
                             tmp_path / "reseeded" / "roundtrip")
    assert reseeded["counts"]["pairs_seen"] == 6
