"""Shared builders for the moderation tests: small synthetic releases and one tiny trained model.

Each is built once per test session (cached) in a temporary folder, since training even a tiny
model costs seconds on the shared 2-core machine.
"""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np

from generation.encoding import encode_mp4
from moderation.network import model_config
from moderation.train import TrainConfig, train
from safesora.taxonomy import HARM_KEYS
from tests.synthetic_clips import render_clip, write_label_dataset

_ROOT = Path(tempfile.mkdtemp(prefix="moderation-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

TINY = {"size": 32, "frames": 8, "width": 32}


@functools.cache
def porn_only_release() -> Path:
    """A small release where the only planted pattern is adult content's (a red disk)."""
    return write_label_dataset(_ROOT / "porn-only", train=120, test=40, seed=11, size=32, unsafe_share=0.5,
                               categories=["porn"])


@functools.cache
def tiny_artifact() -> Path:
    """A model trained on porn_only_release: it tells a red disk from none."""
    config = TrainConfig(epochs=8, threads=1, seed=0, patience=8, model=model_config(**TINY))
    return train(porn_only_release(), _ROOT / "tiny-run", config, progress=False).artifact


def clip_with(path: Path, categories: list[str], seed: int = 0, size: int = 32) -> Path:
    """An mp4 with the given categories' patterns planted (none: a safe clip)."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    encode_mp4(render_clip([HARM_KEYS.index(c) for c in categories], rng, size, 8), 8, path)
    return path
