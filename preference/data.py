"""Read the pair records of a SafeSora-format release (the `preference/` folder of our exports).

A pair record holds the prompt, two video records and the crowd's majority choice per question
(docs/exports.md). SafeSora's format has no agreement figure; our exports write it in the Hugging
Face `pairs` table (`hf/data/pairs/*.parquet`), so it is joined from there by `pair_id` when the
release has it (a record's own `agreement` object wins). Bad records stop the read with the file,
record number and field. Django-free.
"""

import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

SPLIT_FILES = {"train": "config-train.json.gz", "test": "config-test.json.gz"}
DIMENSIONS = ("helpfulness", "harmlessness", "instruction_following", "correctness", "information", "aesthetics")
TOP_LEVEL = ("helpfulness", "harmlessness")
PREFERENCE_DIR_CANDIDATES = ("", "preference", "safesora/preference")


class PairDataError(Exception):
    """The folder is not a readable SafeSora preference dataset."""


@dataclass(frozen=True)
class Clip:
    video_id: str
    path: Path  # absolute
    is_safe: bool
    generator: str


@dataclass(frozen=True)
class PairRecord:
    pair_id: str
    prompt_id: str
    prompt_text: str
    videos: tuple[Clip, Clip]
    choices: dict[str, int]  # dimension -> 0 (video_0 preferred) or 1
    agreement: dict[str, float] = field(default_factory=dict)  # dimension -> share who gave the majority answer


@dataclass(frozen=True)
class PairDataset:
    folder: Path
    train: list[PairRecord]
    test: list[PairRecord]


def find_preference_folder(folder: str | Path) -> Path:
    root = Path(folder).expanduser().resolve()
    if not root.is_dir():
        raise PairDataError(f"{root}: not a folder")
    for sub in PREFERENCE_DIR_CANDIDATES:
        candidate = root / sub if sub else root
        if (candidate / SPLIT_FILES["train"]).is_file() and _holds_pairs(candidate / SPLIT_FILES["train"]):
            return candidate
    raise PairDataError(f"{root}: no {SPLIT_FILES['train']} with pair records in it, in preference/ or in "
                        "safesora/preference/")


def _holds_pairs(path: Path) -> bool:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return '"video_0"' in fh.read(8192)
    except (OSError, EOFError):
        return False


def load_pairs(folder: str | Path) -> PairDataset:
    base = find_preference_folder(folder)
    agreement = _hf_agreement(base)
    splits = {}
    for split, name in SPLIT_FILES.items():
        path = base / name
        splits[split] = _read(path, base, agreement) if path.is_file() else []
    if not splits["train"]:
        raise PairDataError(f"{base / SPLIT_FILES['train']}: no pair records")
    return PairDataset(folder=base, train=splits["train"], test=splits["test"])


def _hf_agreement(base: Path) -> dict[str, dict[str, float]]:
    """pair_id -> agreement per dimension, from the release's hf/ tables when there are any."""
    for root in (base.parent.parent, base.parent, base):
        files = sorted((root / "hf" / "data" / "pairs").glob("*.parquet"))
        if files:
            break
    else:
        return {}
    import pyarrow.parquet as pq

    out = {}
    for file in files:
        table = pq.read_table(file, columns=["pair_id", "agreement"]).to_pylist()
        for row in table:
            out[row["pair_id"]] = {k: v for k, v in (row["agreement"] or {}).items() if v is not None}
    return out


def _read(path: Path, base: Path, agreement: dict) -> list[PairRecord]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            raw = json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PairDataError(f"{path}: not a gzipped JSON list ({exc})") from exc
    if not isinstance(raw, list):
        raise PairDataError(f"{path}: expected a JSON list of pair records")
    return [_record(item, base, f"{path.name} record {n}", agreement) for n, item in enumerate(raw, start=1)]


def _record(item: object, base: Path, where: str, agreement: dict) -> PairRecord:
    if not isinstance(item, dict):
        raise PairDataError(f"{where}: expected an object")

    def need(obj: dict, name: str, kind: type, label: str):
        value = obj.get(name)
        if not isinstance(value, kind):
            raise PairDataError(f"{where}: field {label!r} must be {kind.__name__}, got {value!r:.60}")
        return value

    clips = []
    for side in ("video_0", "video_1"):
        video = need(item, side, dict, side)
        relative = need(video, "video_path", str, f"{side}.video_path")
        path = Path(os.path.normpath(base / relative))
        if not path.is_relative_to(base):
            raise PairDataError(f"{where}: {side}.video_path {relative!r} points outside the release folder")
        clips.append(Clip(video_id=need(video, "video_id", str, f"{side}.video_id"), path=path,
                          is_safe=need(video, "is_safe", bool, f"{side}.is_safe"),
                          generator=str(video.get("generated_from", ""))))
    subs = item.get("sub_preferences") or {}
    choices = {}
    for dim in DIMENSIONS:
        value = item.get(dim) if dim in TOP_LEVEL else subs.get(dim)
        if value not in ("video_0", "video_1"):
            raise PairDataError(f"{where}: {dim} must be 'video_0' or 'video_1', got {value!r:.60}")
        choices[dim] = int(value == "video_1")
    pair_id = need(item, "pair_id", str, "pair_id")
    shares = item.get("agreement") if isinstance(item.get("agreement"), dict) else agreement.get(pair_id, {})
    return PairRecord(pair_id=pair_id, prompt_id=need(item, "prompt_id", str, "prompt_id"),
                      prompt_text=need(item, "prompt_text", str, "prompt_text"), videos=(clips[0], clips[1]),
                      choices=choices, agreement={k: float(v) for k, v in shares.items() if v is not None})
