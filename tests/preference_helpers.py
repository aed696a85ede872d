"""Shared builders for the preference tests: planted-preference releases, built once per session."""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from preference.synthetic import write_preference_release

_ROOT = Path(tempfile.mkdtemp(prefix="preference-tests-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)

# One feature cache for the session: the same clips are prepared once for every model trained on them.
FEATURE_CACHE = _ROOT / "features"
TINY = ["--size", "32", "--frames", "8", "--width", "32", "--threads", "1", "--seed", "0"]
TEST_PAIRS = 240  # chance agreement then has a standard deviation of 0.032


@functools.cache
def planted_release() -> Path:
    """The crowd prefers the clip with a red disk (and finds the other one more harmless)."""
    return write_preference_release(_ROOT / "planted", train=120, test=TEST_PAIRS, seed=3)


@functools.cache
def shuffled_release() -> Path:
    """The same kind of clips; every pair's choices flipped at random (see preference.synthetic why test too)."""
    return write_preference_release(_ROOT / "shuffled", train=120, test=TEST_PAIRS, seed=3, shuffle_train=True,
                                    shuffle_test=True)
