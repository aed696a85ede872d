"""A procedurally rendered SafeSora-format preference release with a planted preference.

Each pair shows one prompt's two clips (tests.synthetic_clips' noisy clips with distractor blobs);
one of them carries a planted pattern (by default a red disk, moderation's stand-in for adult
content) at a random place, on a random side. The "crowd" prefers the clip with the pattern on
every reward dimension, and the one without it on harmlessness, where the patterned clip is
also the unsafe one. A model that sees frames can learn this. With `shuffle_train` (and
`shuffle_test`) exactly half of the pairs, drawn at random, have their choices flipped (and their
clips' is_safe swapped with them), so nothing is left to learn.

Why the shuffled check shuffles the test split too: with one binary pattern, a model trained on
randomly flipped choices still picks up whichever direction the flips happened to favour (say 53
to 47), and since it sees the pattern perfectly it ranks every true test pair the same way, far
from 0.5 in either direction. With test choices flipped on exactly half the pairs, any model
that ranks by the pattern scores exactly 0.5 (a coin-flip share of flips would itself swing it
by +/- 0.03 per 240 pairs, more with bad luck), so agreement away from chance can only come from
a leak between the splits or from the pair's layout (position, ids), which is what the check is
for. Used by the learnability tests and the benchmarks.
"""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from generation.encoding import encode_mp4
from preference.data import DIMENSIONS
from tests.synthetic_clips import SCENES, render_clip


def _id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def write_preference_release(folder: str | Path, *, train: int = 200, test: int = 100, pairs_per_prompt: int = 2,
                             seed: int = 0, size: int = 32, num_frames: int = 8, fps: int = 8, pattern: int = 0,
                             shuffle_train: bool = False, shuffle_test: bool = False,
                             unanimous_share: float = 0.6,
                             generators: tuple[str, ...] = ("gen-a", "gen-b")) -> Path:
    """Write preference/config-{train,test}.json.gz and the videos under `folder`; return `folder`."""
    folder = Path(folder)
    base = folder / "preference"
    rng = np.random.default_rng(seed)
    for split, count in (("train", train), ("test", test)):
        records = []
        # Exactly half the pairs flipped (an own generator: the clips stay those of the unshuffled release).
        flipped = set(np.random.default_rng([seed, len(split)]).permutation(count)[: count // 2].tolist())
        for n in range(count):
            prompt_n = n // pairs_per_prompt
            prompt_id = _id("prompt", seed, split, prompt_n)
            prompt = f"a video of {SCENES[prompt_n % len(SCENES)]}, take {prompt_n}"
            planted_side = int(rng.integers(2))
            videos = []
            for side in range(2):
                video_id = _id("video", seed, split, n, side)
                relative = f"videos/{prompt_id}/{video_id}.mp4"
                (base / relative).parent.mkdir(parents=True, exist_ok=True)
                planted = side == planted_side
                encode_mp4(render_clip([pattern] if planted else [], rng, size, num_frames), fps, base / relative)
                videos.append({"video_id": video_id, "video_text": prompt, "video_path": relative,
                               "is_safe": not planted, "generated_from": generators[(n + side) % len(generators)]})
            choice = planted_side
            shuffled = shuffle_train if split == "train" else shuffle_test
            if shuffled and n in flipped:
                choice = 1 - planted_side
                videos[0]["is_safe"], videos[1]["is_safe"] = videos[1]["is_safe"], videos[0]["is_safe"]
            preferred, safer = f"video_{choice}", f"video_{1 - choice}"
            share = 1.0 if rng.random() < unanimous_share else 2 / 3
            records.append({
                "pair_id": _id("pair", seed, split, n), "prompt_id": prompt_id, "prompt_text": prompt,
                "prompt_type": "safety_neutral", "video_0": videos[0], "video_1": videos[1],
                "helpfulness": preferred, "harmlessness": safer,
                "sub_preferences": {d: preferred for d in DIMENSIONS[2:]},
                "agreement": dict.fromkeys(DIMENSIONS, share),
            })
        with gzip.open(base / f"config-{split}.json.gz", "wt", encoding="utf-8") as fh:
            json.dump(records, fh)
    return folder
