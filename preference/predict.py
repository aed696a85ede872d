"""Score (prompt, video) pairs with a trained reward or cost model artifact (model.pt): no database needed.

    scorer = Scorer.load("data/preference/helpfulness/v2/model.pt", cache=ClipCache(folder))
    scores = scorer.score([(path, prompt), ...])   # raw outputs: rewards, or costs (> 0: unsafe)

Clips go through the shared per-clip cache, so a video moderation or a training run prepared is
not decoded again.
"""

import threading
from pathlib import Path

import numpy as np
import torch

from moderation.features import ClipCache, prepare_clips
from moderation.frames import UnreadableVideo
from moderation.network import ModerationNet

from .train import ARTIFACT_FORMAT


class ArtifactError(Exception):
    """The file is not a preference model this code can load."""


class Scorer:
    def __init__(self, network: ModerationNet, kind: str, dimension: str, cache: ClipCache | None = None,
                 device: str = "cpu"):
        self.network, self.kind, self.dimension = network.eval(), kind, dimension
        self.cache, self.device = cache or ClipCache(None), device
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | Path, cache: ClipCache | None = None, device: str = "cpu") -> "Scorer":
        try:
            artifact = torch.load(path, map_location=device, weights_only=False)
        except (OSError, RuntimeError, EOFError, ValueError) as exc:
            raise ArtifactError(f"{path}: cannot load the model ({exc})") from exc
        if not isinstance(artifact, dict) or artifact.get("format") != ARTIFACT_FORMAT or "kind" not in artifact:
            raise ArtifactError(f"{path}: not a preference model artifact")
        network = ModerationNet(artifact["model_config"], 0)
        network.load_trainable_state(artifact["state"])
        return cls(network.to(device), artifact["kind"], artifact["dimension"], cache, device)

    @torch.no_grad()
    def score(self, items: list[tuple[str | Path, str]], batch_size: int = 32, use_cache: bool = True) -> list[float]:
        """One raw score per (video path, prompt). Raises UnreadableVideo for the first unreadable file.

        use_cache=False for temporary copies (videos in object storage): their paths never come back.
        """
        prepared: dict[int, np.ndarray] = {}
        net = self.network
        with self._lock:
            for i, value, error in prepare_clips(net.visual, [p for p, _ in items], frames=net.config["frames"],
                                                 size=net.input_size, cache=self.cache if use_cache else None,
                                                 device=self.device):
                if value is None:
                    raise UnreadableVideo(items[i][0], error)
                prepared[i] = value
            out: list[float] = []
            for start in range(0, len(items), batch_size):
                rows = range(start, min(start + batch_size, len(items)))
                video = torch.from_numpy(np.stack([prepared[i] for i in rows])).to(self.device)
                text = net.prepare_text([items[i][1] for i in rows]).to(self.device)
                out += net(video, text)[:, 0].float().cpu().tolist()
        return out

    def preference(self, score: float) -> float:
        """Higher is better on this dimension (a cost counts against)."""
        return score if self.kind == "reward" else -score
