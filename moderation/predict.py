"""Score videos with a trained model artifact (model.pt): no database needed.

    moderator = Moderator.load("data/moderation/v3/model.pt")
    scores = moderator.score("clip.mp4", "the prompt")   # -> Scores

A video is flagged when the unsafe probability or any category's probability reaches its tuned
threshold.
"""

import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .evaluate import UNSAFE
from .features import ClipCache, prepare_clips
from .frames import UnreadableVideo, sample_frames
from .network import ModerationNet


class ArtifactError(Exception):
    """The file is not a moderation model this code can load."""


@dataclass(frozen=True)
class Scores:
    categories: dict[str, float]  # probability per harm key
    unsafe_probability: float
    flagged: bool
    flagged_categories: list[str]
    thresholds: dict[str, float]

    def as_dict(self) -> dict:
        return {**asdict(self), "is_safe": not self.flagged}


class Moderator:
    def __init__(self, network: ModerationNet, keys: list[str], thresholds: dict[str, float], device: str = "cpu",
                 cache: ClipCache | None = None):
        self.network, self.keys, self.thresholds, self.device = network.eval(), keys, thresholds, device
        self.cache = cache  # the shared per-clip cache (moderation.features); None: prepare every time
        self._lock = threading.Lock()  # one forward at a time per loaded model (web threads share it)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu", cache: ClipCache | None = None) -> "Moderator":
        try:
            artifact = torch.load(path, map_location=device, weights_only=False)
        except (OSError, RuntimeError, EOFError, ValueError) as exc:
            raise ArtifactError(f"{path}: cannot load the model ({exc})") from exc
        if not isinstance(artifact, dict) or artifact.get("format") != 1:
            raise ArtifactError(f"{path}: not a moderation model artifact")
        network = ModerationNet(artifact["model_config"], len(artifact["harm_keys"]))
        network.load_trainable_state(artifact["state"])
        return cls(network.to(device), artifact["harm_keys"], artifact["thresholds"], device, cache)

    @property
    def num_frames(self) -> int:
        return self.network.config["frames"]

    def score_frames(self, frames: np.ndarray, prompt: str) -> Scores:
        """Score (T, H, W, 3) uint8 frames, already sampled at this model's frame count and size."""
        with self._lock, torch.no_grad():
            video = self.network.prepare_video(torch.from_numpy(frames[None]).to(self.device))
        return self._score_prepared(video, prompt)

    def _score_prepared(self, video: torch.Tensor, prompt: str) -> Scores:
        with self._lock, torch.no_grad():
            text = self.network.prepare_text([prompt])
            probs = torch.sigmoid(self.network(video.to(self.device), text.to(self.device)))[0].float().cpu().tolist()
        categories = {key: round(p, 6) for key, p in zip(self.keys, probs, strict=False)}
        unsafe = round(probs[-1], 6)
        over = [key for key in self.keys if categories[key] >= self.thresholds[key]]
        return Scores(categories=categories, unsafe_probability=unsafe,
                      flagged=bool(over) or unsafe >= self.thresholds[UNSAFE], flagged_categories=over,
                      thresholds=self.thresholds)

    def score(self, video_path: str | Path, prompt: str, use_cache: bool = True) -> Scores:
        """Sample the video's frames and score them with the prompt. Raises frames.UnreadableVideo.

        use_cache=False for a temporary copy (a video in object storage): its path never comes back.
        """
        if self.cache is None or not use_cache:
            return self.score_frames(sample_frames(video_path, self.num_frames, self.network.input_size), prompt)
        with self._lock:
            _i, prepared, error = next(prepare_clips(self.network.visual, [video_path], frames=self.num_frames,
                                                     size=self.network.input_size, cache=self.cache,
                                                     device=self.device))
        if prepared is None:
            raise UnreadableVideo(video_path, error.split(": ", 1)[-1])
        return self._score_prepared(torch.from_numpy(prepared[None]), prompt)
