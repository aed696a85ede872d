"""Read the video records of a SafeSora-format release folder (docs/safesora-format.md).

A label dataset is a folder holding `config-train.json.gz` and `config-test.json.gz` (each a gzip
of one JSON list of video records) with `video_path` relative to that folder. The folder given may
be the label dataset itself or a release that holds it below (our exports put it in
`safesora/label/`; a plain copy of SafeSora-Label has it at the root). Records are checked as they
are read: a bad one stops the read with its file, record number and field.
"""

import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

from safesora.taxonomy import HARM_KEYS

SPLIT_FILES = {"train": "config-train.json.gz", "test": "config-test.json.gz"}
# Where a label dataset sits inside a release, most specific first.
LABEL_DIR_CANDIDATES = ("", "label", "safesora/label")


class ReleaseError(Exception):
    """The folder is not a readable SafeSora label dataset."""


@dataclass(frozen=True)
class VideoRecord:
    video_id: str
    prompt_id: str
    prompt_text: str
    video_path: Path  # absolute
    is_safe: bool
    labels: tuple[bool, ...]  # in HARM_KEYS order
    generated_from: str = ""

    @property
    def unsafe(self) -> bool:
        return not self.is_safe


@dataclass(frozen=True)
class LabelDataset:
    folder: Path
    train: list[VideoRecord]
    test: list[VideoRecord]

    def describe(self) -> dict:
        """Counts for the model card: records and positives per category, per split."""
        out = {}
        for split, records in (("train", self.train), ("test", self.test)):
            out[split] = {
                "videos": len(records),
                "unsafe": sum(r.unsafe for r in records),
                "positives": {key: sum(r.labels[i] for r in records) for i, key in enumerate(HARM_KEYS)},
            }
        return out


def find_label_folder(folder: str | Path) -> Path:
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise ReleaseError(f"{root}: not a folder")
    for sub in LABEL_DIR_CANDIDATES:
        candidate = root / sub if sub else root
        if (candidate / SPLIT_FILES["train"]).is_file():
            return candidate
    # Any other layout: the one folder below that holds video records.
    found = sorted(p.parent for p in root.rglob(SPLIT_FILES["train"]) if _holds_video_records(p))
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(str(p.relative_to(root)) for p in found)
        raise ReleaseError(f"{root}: several label datasets ({names}); give the one to use")
    raise ReleaseError(f"{root}: no {SPLIT_FILES['train']} with video records in it or below it")


def _holds_video_records(path: Path) -> bool:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            head = fh.read(4096)
    except (OSError, EOFError):
        return False
    return '"video_labels"' in head and '"video_0"' not in head


def load_label_dataset(folder: str | Path) -> LabelDataset:
    """Read both splits. The test split may be missing (then it is empty)."""
    label_folder = find_label_folder(folder)
    splits = {}
    for split, name in SPLIT_FILES.items():
        path = label_folder / name
        splits[split] = read_records(path, label_folder) if path.is_file() else []
    if not splits["train"]:
        raise ReleaseError(f"{label_folder / SPLIT_FILES['train']}: no records")
    return LabelDataset(folder=label_folder, train=splits["train"], test=splits["test"])


def read_records(path: Path, base: Path) -> list[VideoRecord]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseError(f"{path}: not a gzipped JSON list ({exc})") from exc
    if not isinstance(raw, list):
        raise ReleaseError(f"{path}: expected a JSON list of video records, got {type(raw).__name__}")
    return [_record(item, base, f"{path.name} record {n}") for n, item in enumerate(raw, start=1)]


def _record(item: object, base: Path, where: str) -> VideoRecord:
    if not isinstance(item, dict):
        raise ReleaseError(f"{where}: expected an object")

    def field(name: str, kind: type):
        value = item.get(name)
        if not isinstance(value, kind):
            raise ReleaseError(f"{where}: field {name!r} must be {kind.__name__}, got {value!r:.60}")
        return value

    labels = field("video_labels", dict)
    if set(labels) != set(HARM_KEYS) or not all(isinstance(v, bool) for v in labels.values()):
        raise ReleaseError(f"{where}: video_labels must have exactly the 12 harm keys, each true or false")
    relative = field("video_path", str)
    # Normalised, not resolved: videos may be symlinks into a shared store.
    path = Path(os.path.normpath(base / relative))
    if not path.is_relative_to(base):
        raise ReleaseError(f"{where}: video_path {relative!r} points outside the release folder")
    return VideoRecord(
        video_id=field("video_id", str), prompt_id=field("prompt_id", str), prompt_text=field("prompt_text", str),
        video_path=path, is_safe=field("is_safe", bool), labels=tuple(labels[k] for k in HARM_KEYS),
        generated_from=str(item.get("generated_from", "")),
    )
