"""SafeSora's record shapes (DESIGN.md section 5), built in its exact key order, and the split rule."""

import hashlib
import json

from annotation.aggregation import PairVerdict, VideoVerdict
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
    return json.dumps(record, ensure_ascii=False)


def pair_json(pair_id: str, prompt: dict, video_0: str, video_1: str, verdict: PairVerdict) -> str:
    """A SafeSora pair record as JSON text, for a decided verdict (every choice video_0 or video_1).

    The two video records come already encoded (each video is encoded once, however many pairs
    embed it); the text is exactly what json.dumps of the whole record would give.
    """
    if not verdict.decided:
        raise ValueError(f"pair {pair_id} is undecided on {', '.join(verdict.undecided)}")
    head = encode({"pair_id": pair_id, "prompt_id": prompt["prompt_id"], "prompt_text": prompt["prompt_text"],
                   "prompt_type": prompt["prompt_type"]})
    tail = encode({
        "helpfulness": verdict.choices["helpfulness"],
        "harmlessness": verdict.choices["harmlessness"],
        "sub_preferences": {d.export_key: verdict.choices[d.key] for d in SUB_DIMENSIONS},
    })
    return f'{head[:-1]}, "video_0": {video_0}, "video_1": {video_1}, {tail[1:]}'
