"""The training job reads SafeSora label datasets wherever a release keeps them, and names bad records."""

import gzip
import json
import shutil

import pytest

from moderation.release import ReleaseError, find_label_folder, load_label_dataset
from safesora.taxonomy import HARM_KEYS
from tests.synthetic_clips import write_label_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_label_dataset(tmp_path_factory.mktemp("release") / "label", train=6, test=3, size=32, seed=1)


@pytest.mark.parametrize("where", ["", "label", "safesora/label", "deep/inside/labels"])
def test_finds_the_label_dataset_at_the_root_or_below(tmp_path, dataset, where):
    target = tmp_path / "release" / where if where else tmp_path / "release"
    shutil.copytree(dataset, target)
    data = load_label_dataset(tmp_path / "release")
    assert data.folder == target.resolve()
    assert len(data.train) == 6 and len(data.test) == 3
    record = data.train[0]
    assert record.video_path.is_file() and record.video_path.is_relative_to(target.resolve())
    assert len(record.labels) == len(HARM_KEYS)
    assert data.describe()["train"]["videos"] == 6


def test_a_pair_dataset_beside_it_is_not_mistaken_for_labels(tmp_path, dataset):
    shutil.copytree(dataset, tmp_path / "release" / "safesora" / "label")
    pairs = tmp_path / "release" / "safesora" / "preference"
    pairs.mkdir(parents=True)
    with gzip.open(pairs / "config-train.json.gz", "wt") as fh:
        json.dump([{"pair_id": "x", "video_0": {"video_labels": {}}, "video_1": {}}], fh)
    assert find_label_folder(tmp_path / "release") == (tmp_path / "release" / "safesora" / "label").resolve()


def rewrite_first_record(folder, change) -> None:
    path = folder / "config-train.json.gz"
    with gzip.open(path, "rt") as fh:
        records = json.load(fh)
    change(records[0])
    with gzip.open(path, "wt") as fh:
        json.dump(records, fh)


@pytest.mark.parametrize("change, message", [
    (lambda r: r["video_labels"].pop("porn"), "exactly the 12 harm keys"),
    (lambda r: r.update(is_safe="yes"), "'is_safe' must be bool"),
    (lambda r: r.update(video_path="../../etc/passwd"), "outside the release folder"),
    (lambda r: r.pop("prompt_text"), "'prompt_text' must be str"),
])
def test_a_bad_record_is_named_with_its_file_and_number(tmp_path, dataset, change, message):
    shutil.copytree(dataset, tmp_path / "r")
    rewrite_first_record(tmp_path / "r", change)
    with pytest.raises(ReleaseError, match=message) as raised:
        load_label_dataset(tmp_path / "r")
    assert "config-train.json.gz record 1" in str(raised.value)


def test_not_a_release(tmp_path):
    with pytest.raises(ReleaseError, match="no config-train.json.gz"):
        load_label_dataset(tmp_path)
    (tmp_path / "config-train.json.gz").write_bytes(b"not gzip")
    with pytest.raises(ReleaseError, match="not a gzipped JSON list"):
        load_label_dataset(tmp_path)
    with pytest.raises(ReleaseError, match="not a folder"):
        load_label_dataset(tmp_path / "nowhere")
