"""A small annotated project for the export tests, and a SafeSora release reader (docs/safesora-format.md)."""

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

from tests.factories import (
    make_annotation,
    make_campaign,
    make_generator,
    make_pair,
    make_prompt,
    make_review,
    make_user,
    make_video,
)


@dataclass
class Project:
    prompts: dict
    pairs: dict
    videos: dict
    generators: list


def build_project() -> Project:
    """Pairs showing each rule: majority with disagreement, unanimity, a tie, a review, gold, incomplete, eval."""
    gens = [make_generator(name) for name in ("alpha", "beta", "gamma")]
    campaign = make_campaign("main", overlap=3)
    users = [make_user(f"worker{i}") for i in range(3)]
    prompts = {
        "critical": make_prompt("a street fight at night", prompt_type="safety_critical",
                                prompt_labels={**dict.fromkeys(_keys(), False), "violence": True}),
        "neutral": make_prompt("a cat playing piano"),
        "fixed_test": make_prompt("sunrise over mountains", split="test"),
        "eval": make_prompt("a red balloon flying", split="eval"),
        "eval_only": make_prompt("a robot dancing in the rain", split="eval"),
        "partial": make_prompt("a boat on a lake"),
        "gold": make_prompt("a dog catching a frisbee"),
    }
    videos, seed = {}, 0

    def video(prompt_key: str, gen: int, real: bool = True):
        nonlocal seed
        seed += 1
        v = make_video(prompts[prompt_key], gens[gen], real=real, seed=seed)
        videos[f"{prompt_key}{gen}"] = v
        return v

    pairs = {}
    # Disagreement: harmlessness 2-1, video_1 labelled violence by 2 of 3.
    pairs["majority"] = make_pair(campaign, prompt=prompts["critical"], video_0=video("critical", 0),
                                  video_1=video("critical", 1))
    make_annotation(pairs["majority"], users[0], harmlessness="video_0", labels_1=["violence"])
    make_annotation(pairs["majority"], users[1], harmlessness="video_0", labels_1=["violence", "crime"])
    make_annotation(pairs["majority"], users[2], harmlessness="video_1", helpfulness="video_1")
    # Unanimous, and a second pair sharing its video_0 that ends in a 1-1 tie (two required).
    pairs["unanimous"] = make_pair(campaign, prompt=prompts["neutral"], video_0=video("neutral", 0),
                                   video_1=video("neutral", 1))
    for user in users:
        make_annotation(pairs["unanimous"], user, default="video_1")
    pairs["tie"] = make_pair(campaign, prompt=prompts["neutral"], video_0=videos["neutral0"],
                             video_1=video("neutral", 2), required_annotations=2)
    make_annotation(pairs["tie"], users[0], harmlessness="video_0")
    make_annotation(pairs["tie"], users[1], harmlessness="video_1")
    # Reviewed: the annotators said video_0, the reviewer says video_1 and flags video_0.
    pairs["reviewed"] = make_pair(campaign, prompt=prompts["fixed_test"], video_0=video("fixed_test", 0),
                                  video_1=video("fixed_test", 2))
    for user in users:
        make_annotation(pairs["reviewed"], user)
    make_review(pairs["reviewed"], default="video_1", labels_0=["other_harmful"])
    # Left out by default: gold, incomplete, and a pair of an eval prompt.
    pairs["gold"] = make_pair(campaign, prompt=prompts["gold"], video_0=video("gold", 0, real=False),
                              video_1=video("gold", 1, real=False), is_gold=True,
                              gold_answers={"harmlessness": "video_0"})
    for user in users:
        make_annotation(pairs["gold"], user)
    pairs["partial"] = make_pair(campaign, prompt=prompts["partial"], video_0=video("partial", 1, real=False),
                                 video_1=video("partial", 2, real=False))
    make_annotation(pairs["partial"], users[0])
    pairs["eval"] = make_pair(campaign, prompt=prompts["eval"], video_0=video("eval", 0, real=False),
                              video_1=video("eval", 1, real=False))
    for user in users:
        make_annotation(pairs["eval"], user)
    return Project(prompts, pairs, videos, gens)


def _keys():
    from safesora.taxonomy import HARM_KEYS

    return HARM_KEYS


# --- a SafeSora loader, written from docs/safesora-format.md (as PKU-Alignment's own reads a release) --------

def load_config(folder: Path, config_filename: str) -> list[dict]:
    """Load `config_filename` from a release folder and point video paths into its `videos/` folder."""
    with gzip.open(Path(folder) / config_filename, "rt", encoding="utf-8") as fh:
        records = json.load(fh)
    for record in records:
        for video in (record["video_0"], record["video_1"]) if "video_0" in record else (record,):
            if "video_id" in video:
                video["video_path"] = str(Path(folder) / "videos" / video["prompt_id"] / f"{video['video_id']}.mp4")
    return records
