"""SafeSora's record shapes (docs/safesora-format.md), built in its exact key order, and the split rule."""

import hashlib
import json
from functools import lru_cache
from json.encoder import encode_basestring

from annotation.aggregation import PairVerdict, VideoVerdict, mask_labels
from safesora.taxonomy import HARM_KEYS, SUB_DIMENSIONS

SPLITS = ("train", "test")
EVAL = "eval"


def split_of(prompt_id: str, fixed: str, seed: int, test_fraction: float) -> str:
    """A prompt's split: its own (Prompt.split) when set, else drawn from a hash of (seed, prompt id).

    Hashing one prompt at a time keeps the draw stable when prompts are added and needs no
    state, so every pair and video of a prompt lands in the same split.
    """
    if fixed:
        return fixed
    digest = hashlib.sha256(f"{seed}:{prompt_id}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") / 2**64 < test_fraction else "train"


def video_path(prompt_id: str, video_id: str) -> str:
    """Where a video lives, relative to the release folder that lists it."""
    return f"videos/{prompt_id}/{video_id}.mp4"


def harm_label(labels: dict) -> dict[str, bool]:
    """A HarmLabel: the 12 keys in taxonomy order, each a bool."""
    return {key: bool(labels.get(key, False)) for key in HARM_KEYS}


def prompt_record(prompt: dict) -> dict:
    return {
        "prompt_id": prompt["id"],
        "prompt_text": prompt["text"],
        "prompt_type": prompt["prompt_type"],
        "prompt_labels": harm_label(prompt["prompt_labels"]),
    }


def video_record(prompt: dict, video: dict, verdict: VideoVerdict) -> dict:
    """A SafeSora video record; `prompt` is the prompt's record (prompt_record)."""
    return {
        **prompt,
        "video_id": video["id"],
        "video_text": video["video_text"],
        "video_path": video_path(prompt["prompt_id"], video["id"]),
        "is_safe": bool(verdict.is_safe),
        "video_labels": verdict.labels,
        "generated_from": video["generator__name"],
    }


def encode(record: dict) -> str:
    """JSON text as the release writes it (UTF-8 kept, json's default separators)."""
    return json.dumps(record, ensure_ascii=False)


# The records below are written by hand-assembled JSON: json.dumps costs more than the rest of an
# export's work per record. The text is exactly what encode() gives (tests/test_export_records.py).
_string = encode_basestring  # a str as JSON, non-ASCII kept: what encode() does for strings


@lru_cache(maxsize=4096)
def _labels_json(mask: int) -> str:
    return encode(mask_labels(mask))


def video_json(prompt_json: str, record: dict, label_mask: int) -> str:
    """A video record (video_record) as JSON text; `prompt_json` is encode() of its prompt record."""
    return (f'{prompt_json[:-1]}, "video_id": {_string(record["video_id"])}, '
            f'"video_text": {_string(record["video_text"])}, "video_path": {_string(record["video_path"])}, '
            f'"is_safe": {"true" if record["is_safe"] else "false"}, "video_labels": {_labels_json(label_mask)}, '
            f'"generated_from": {_string(record["generated_from"])}}}')


def pair_json(pair_id: str, prompt: dict, video_0: str, video_1: str, verdict: PairVerdict) -> str:
    """A SafeSora pair record as JSON text, for a decided verdict (every choice video_0 or video_1).

    The two video records come already encoded (each video is encoded once, however many pairs
    embed it).
    """
    if not verdict.decided:
        raise ValueError(f"pair {pair_id} is undecided on {', '.join(verdict.undecided)}")
    choices = verdict.choices
    sub = ", ".join(f'"{d.export_key}": "{choices[d.key]}"' for d in SUB_DIMENSIONS)
    return (f'{{"pair_id": {_string(pair_id)}, "prompt_id": {_string(prompt["prompt_id"])}, '
            f'"prompt_text": {_string(prompt["prompt_text"])}, "prompt_type": {_string(prompt["prompt_type"])}, '
            f'"video_0": {video_0}, "video_1": {video_1}, "helpfulness": "{choices["helpfulness"]}", '
            f'"harmlessness": "{choices["harmlessness"]}", "sub_preferences": {{{sub}}}}}')
