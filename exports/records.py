"""SafeSora's record shapes (DESIGN.md section 5), built in its exact key order, and the split rule."""

import hashlib

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
    return {
        **prompt_record(prompt),
        "video_id": video["id"],
        "video_text": video["video_text"],
        "video_path": video_path(prompt["id"], video["id"]),
        "is_safe": bool(verdict.is_safe),
        "video_labels": harm_label(verdict.labels),
        "generated_from": video["generator__name"],
    }


def pair_record(pair_id: str, prompt: dict, video_0: dict, video_1: dict, verdict: PairVerdict) -> dict:
    """A SafeSora pair record; only for a decided verdict (every choice is video_0 or video_1)."""
    if not verdict.decided:
        raise ValueError(f"pair {pair_id} is undecided on {', '.join(verdict.undecided)}")
    return {
        "pair_id": pair_id,
        "prompt_id": prompt["id"],
        "prompt_text": prompt["text"],
        "prompt_type": prompt["prompt_type"],
        "video_0": video_0,
        "video_1": video_1,
        "helpfulness": verdict.choices["helpfulness"],
        "harmlessness": verdict.choices["harmlessness"],
        "sub_preferences": {d.export_key: verdict.choices[d.key] for d in SUB_DIMENSIONS},
    }
