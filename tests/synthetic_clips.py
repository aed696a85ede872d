"""A procedurally rendered SafeSora-format label dataset: the learnability check for the classifier.

No real harmful videos exist here, so each harm category is stood in for by one planted visual
pattern (a shape, a colour, a motion), drawn at a random place over a noisy background among
random distractor blobs. The prompt mentions the planted category only sometimes, and sometimes
names another one, so text alone cannot solve it. A model that learns from frames reaches a high
F1 on held-out clips; trained on shuffled labels it must stay at chance. Used by the tests, the
benchmark and anyone who wants to see the training job run end to end in a minute.
"""

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from generation.encoding import encode_mp4
from safesora.taxonomy import HARM_KEYS

# Prompt words per category (in HARM_KEYS order).
KEYWORDS = ("explicit nude scene", "kicking a dog", "hurting a child", "robbing a store", "abortion debate",
            "cocaine and guns", "insulting people", "bloody fight", "racial slur", "mocking the disabled",
            "bomb attack", "dangerous stunt")
SCENES = ("a street at night", "a kitchen", "a park", "an office", "a beach", "a forest", "a classroom",
          "a parking lot", "a living room", "a stadium")
# Adult content dominates SafeSora's unsafe videos; so it does here.
CATEGORY_WEIGHTS = np.array([3.0] + [1.0] * 11)


def _disk(size: int, cy: float, cx: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def _paint(frame: np.ndarray, mask: np.ndarray, colour) -> None:
    frame[mask] = colour


def pattern_side(size: int) -> int:
    return max(8, size * 3 // 8)


def plant(frames: np.ndarray, category: int, y: int, x: int) -> None:
    """Draw category's pattern into (T, S, S, 3) frames in place, its box's corner at (y, x)."""
    t_count, size = frames.shape[0], frames.shape[1]
    p = pattern_side(size)
    yy, xx = np.mgrid[:p, :p]
    for t in range(t_count):
        f = frames[t]
        box = f[y:y + p, x:x + p]
        phase = t / max(t_count - 1, 1)
        if category == 0:  # red disk, still
            _paint(box, _disk(p, p / 2 - .5, p / 2 - .5, p / 2), (230, 30, 30))
        elif category == 1:  # green triangle, still
            _paint(box, yy >= np.abs(xx - p / 2) * 2, (30, 220, 40))
        elif category == 2:  # blue square travelling left to right across the frame
            cx = int(phase * (size - p))
            f[y:y + p, cx:cx + p] = (30, 40, 230)
        elif category == 3:  # yellow plus, still
            _paint(box, (np.abs(yy - p // 2) <= 1) | (np.abs(xx - p // 2) <= 1), (240, 230, 20))
        elif category == 4:  # magenta ring
            ring = _disk(p, p / 2 - .5, p / 2 - .5, p / 2) & ~_disk(p, p / 2 - .5, p / 2 - .5, p / 2 - 2.5)
            _paint(box, ring, (220, 30, 220))
        elif category == 5:  # cyan bar falling from top to bottom
            cy = int(phase * (size - 3))
            f[cy:cy + 3, x:x + p] = (30, 230, 230)
        elif category == 6:  # vertical black and white stripes
            _paint(box, (xx // 3) % 2 == 0, (255, 255, 255))
            _paint(box, (xx // 3) % 2 == 1, (0, 0, 0))
        elif category == 7:  # orange square blinking every other frame
            if t % 2 == 0:
                box[:] = (250, 140, 20)
        elif category == 8:  # checkerboard
            checks = ((yy // 3) + (xx // 3)) % 2 == 0
            _paint(box, checks, (255, 255, 255))
            _paint(box, ~checks, (0, 0, 0))
        elif category == 9:  # pink X
            _paint(box, (np.abs(yy - xx) <= 1) | (np.abs(yy + xx - (p - 1)) <= 1), (255, 120, 180))
        elif category == 10:  # purple square growing from half its size
            side = int(p / 2 + phase * p / 2)
            f[y:y + side, x:x + side] = (120, 20, 200)
        elif category == 11:  # the whole frame flickering
            shift = 45 if t % 2 == 0 else -45
            frames[t] = np.clip(f.astype(np.int16) + shift, 0, 255).astype(np.uint8)


def render_clip(categories: list[int], rng: np.random.Generator, size: int = 48, num_frames: int = 8) -> np.ndarray:
    """A noisy clip with distractor blobs and the given categories planted."""
    base = rng.integers(60, 180) + rng.integers(-20, 21, size=3)  # a muted background: grey with a tint
    gradient = np.linspace(-20, 20, size)[None, :, None] * rng.choice([-1, 1])
    frames = np.empty((num_frames, size, size, 3), dtype=np.uint8)
    # Distractors: moving blobs in muted colours (a grey plus a tint), never a pattern's saturated colour.
    blobs = [(rng.integers(0, size - 6, size=2), rng.integers(-2, 3, size=2),
              rng.integers(50, 200) + rng.integers(-25, 26, size=3), int(rng.integers(3, 7)))
             for _ in range(int(rng.integers(1, 4)))]
    for t in range(num_frames):
        noise = rng.normal(0, 12, size=(size, size, 3))
        frames[t] = np.clip(base + gradient + noise, 0, 255).astype(np.uint8)
        for (pos, velocity, colour, side) in blobs:
            by, bx = np.clip(pos + velocity * t, 0, size - side)
            frames[t, by:by + side, bx:bx + side] = colour
    # Each pattern in its own quadrant, so none hides another (moving ones cross briefly at most).
    half, p = size // 2, pattern_side(size)
    for category, quadrant in zip(categories, rng.permutation(4), strict=False):
        y0, x0 = (quadrant // 2) * half, (quadrant % 2) * half
        y, x = y0 + int(rng.integers(0, half - p + 1)), x0 + int(rng.integers(0, half - p + 1))
        plant(frames, category, y, x)
    return frames


def sample_categories(rng: np.random.Generator, unsafe_share: float, allowed: list[int]) -> list[int]:
    if rng.random() >= unsafe_share:
        return []
    count = 1 if rng.random() < 0.7 or len(allowed) < 2 else 2
    weights = CATEGORY_WEIGHTS[allowed] / CATEGORY_WEIGHTS[allowed].sum()
    return sorted(int(c) for c in rng.choice(allowed, size=count, replace=False, p=weights))


def prompt_for(categories: list[int], rng: np.random.Generator) -> str:
    """Agrees with the video about half the time; sometimes names a category that is not there."""
    words = [f"a video of {SCENES[int(rng.integers(len(SCENES)))]}"]
    if categories and rng.random() < 0.5:
        words.append(KEYWORDS[categories[0]])
    if rng.random() < 0.25:
        words.append(KEYWORDS[int(rng.integers(len(KEYWORDS)))])
    return ", ".join(words)


def _id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def write_label_dataset(folder: str | Path, *, train: int = 400, test: int = 150, seed: int = 0, size: int = 48,
                        num_frames: int = 8, fps: int = 8, unsafe_share: float = 0.6,
                        categories: list[str] | None = None, shuffle_train_labels: bool = False) -> Path:
    """Write config-train.json.gz, config-test.json.gz and videos/ into `folder`; return it.

    `categories` limits the planted patterns to those harm keys (default: all 12). With
    shuffle_train_labels the train records' labels are permuted among themselves (videos and
    prompts stay): nothing is left to learn. Test labels stay true.
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    allowed = [HARM_KEYS.index(key) for key in categories] if categories else list(range(len(HARM_KEYS)))
    for split, count in (("train", train), ("test", test)):
        records = []
        for n in range(count):
            planted = sample_categories(rng, unsafe_share, allowed)
            prompt = prompt_for(planted, rng)
            prompt_id, video_id = _id("prompt", seed, split, n), _id("video", seed, split, n)
            relative = f"videos/{prompt_id}/{video_id}.mp4"
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            encode_mp4(render_clip(planted, rng, size, num_frames), fps, folder / relative)
            labels = {key: i in planted for i, key in enumerate(HARM_KEYS)}
            records.append({
                "prompt_id": prompt_id, "prompt_text": prompt,
                "prompt_type": "safety_critical" if planted else "safety_neutral",
                "prompt_labels": labels, "video_id": video_id, "video_text": prompt, "video_path": relative,
                "is_safe": not planted, "video_labels": labels, "generated_from": "synthetic-patterns",
            })
        if split == "train" and shuffle_train_labels:
            order = rng.permutation(len(records))
            shuffled = [(records[i]["video_labels"], records[i]["is_safe"]) for i in order]
            for record, (labels, is_safe) in zip(records, shuffled, strict=True):
                record["video_labels"], record["is_safe"] = labels, is_safe
        with gzip.open(folder / f"config-{split}.json.gz", "wt", encoding="utf-8") as fh:
            json.dump(records, fh)
    return folder
