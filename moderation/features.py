"""Per-clip inputs computed once and shared: what moderation and the preference models read.

    cache = ClipCache(settings.FEATURE_CACHE_DIR)
    for index, prepared, error in prepare_clips(visual, paths, frames=8, size=64, cache=cache): ...

A clip's prepared input is what a visual backbone's `prepare` makes of its sampled frames: the
decoded frames themselves for the small trainable net, the frozen encoder's features for a
pretrained one. It depends only on the file, the backbone's `cache_key`, the frame count and the
frame size, so one cache entry serves every training run and every stage (moderation, reward and
cost models, Best-of-N scoring) that uses the same backbone on the same clip. An entry is one
.npy file named by a hash of those four things; the file part is its resolved path, size and
modification time, so an edited file is prepared again. Django-free: benchmarks use it as is.
"""

import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch

from .frames import UnreadableVideo, sample_frames

BATCH = 16


class ClipCache:
    """One .npy per (clip, backbone, frames, size) under `root`; `root=None` caches nothing."""

    def __init__(self, root: str | Path | None):
        self.root = Path(root) if root else None
        self.hits = self.misses = 0

    def key(self, path: str | Path, backbone_key: str, frames: int, size: int) -> str | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None  # unreadable: sample_frames reports it
        parts = (Path(path).resolve(), stat.st_size, stat.st_mtime_ns, backbone_key, frames, size)
        return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()

    def _file(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str | None) -> np.ndarray | None:
        if self.root is None or key is None:
            return None
        try:
            value = np.load(self._file(key))
        except (OSError, ValueError, EOFError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str | None, value: np.ndarray) -> None:
        if self.root is None or key is None:
            return
        target = self._file(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:  # np.save on a name would add .npy to the temporary name
            np.save(fh, value)
        os.replace(tmp, target)  # atomic: a reader never sees half a file


def backbone_key(visual: torch.nn.Module) -> str:
    return getattr(visual, "cache_key", type(visual).__name__)


class _Decode(torch.utils.data.Dataset):
    def __init__(self, paths: Sequence, frames: int, size: int):
        self.paths, self.frames, self.size = paths, frames, size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        index, path = self.paths[index]
        try:
            return index, sample_frames(path, self.frames, self.size), ""
        except UnreadableVideo as exc:
            return index, None, str(exc)


def _collate(items):
    return items


def prepare_clips(visual: torch.nn.Module, paths: Sequence[str | Path], *, frames: int, size: int,
                  cache: ClipCache | None = None, device: str = "cpu", workers: int = 0,
                  on_batch=None) -> Iterator[tuple[int, np.ndarray | None, str]]:
    """Yield (index into paths, prepared input or None, error) for every clip, cached ones first.

    Misses are decoded (in `workers` processes) and prepared in batches on `device`, then cached.
    `on_batch(done)` is called with the number of clips handled so far.
    """
    cache = cache or ClipCache(None)
    key_of = backbone_key(visual)
    keys = [cache.key(p, key_of, frames, size) for p in paths]
    missing, done = [], 0
    for index, key in enumerate(keys):
        value = cache.get(key)
        if value is None:
            missing.append((index, paths[index]))
        else:
            done += 1
            yield index, value, ""
    if done and on_batch:
        on_batch(done)
    if not missing:
        return
    loader = torch.utils.data.DataLoader(_Decode(missing, frames, size), batch_size=BATCH, num_workers=workers,
                                         collate_fn=_collate)
    for batch in loader:
        good = [(i, f) for i, f, _ in batch if f is not None]
        for i, f, error in batch:
            if f is None:
                yield i, None, error
        if good:
            with torch.no_grad():
                prepared = visual.prepare(torch.from_numpy(np.stack([f for _, f in good])).to(device))
            prepared = prepared.cpu().numpy()
            for row, (i, _) in enumerate(good):
                cache.put(keys[i], prepared[row])
                yield i, prepared[row], ""
        done += len(batch)
        if on_batch:
            on_batch(done)
