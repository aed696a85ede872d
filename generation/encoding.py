"""Frames to browser-playable video: H.264, yuv420p, mp4 with faststart, plus a poster JPEG.

OpenCV's default `mp4v` codec does not play in Chromium's <video>; PyAV's wheel carries
libx264, so every file written here does.
"""

import hashlib
import io
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    num_frames: int
    width: int
    height: int
    duration: float
    sha256: str
    size_bytes: int


def _even(frames: np.ndarray) -> np.ndarray:
    """yuv420p needs even width and height: crop the last row/column when odd."""
    _, h, w, _ = frames.shape
    return frames[:, : h - h % 2, : w - w % 2]


def to_uint8_frames(frames) -> np.ndarray:
    """Accept what pipelines return (float in [0, 1] or uint8; list of PIL images or arrays) as (T, H, W, 3) uint8."""
    if isinstance(frames, list) and frames and isinstance(frames[0], Image.Image):
        frames = np.stack([np.asarray(f.convert("RGB")) for f in frames])
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(f"expected frames shaped (T, H, W, 3), got {array.shape}")
    if array.dtype != np.uint8:
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return array


def encode_mp4(frames: np.ndarray, fps: float, path: Path, *, crf: int = 20, preset: str = "fast") -> None:
    """Write (T, H, W, 3) uint8 RGB frames to `path` as H.264/yuv420p mp4 with the index up front."""
    frames = _even(to_uint8_frames(frames))
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def poster_jpeg(frames: np.ndarray, quality: int = 85) -> bytes:
    """The middle frame as JPEG: what the browser shows before the video loads."""
    frames = to_uint8_frames(frames)
    buffer = io.BytesIO()
    Image.fromarray(frames[len(frames) // 2]).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def probe(path: Path) -> VideoInfo:
    """Read a video's metadata by decoding it (a file that does not decode raises av.error.FFmpegError)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        width, height = stream.codec_context.width, stream.codec_context.height
    if count == 0:
        raise ValueError(f"{path.name}: no video frames")
    return VideoInfo(fps=fps, num_frames=count, width=width, height=height, duration=count / fps if fps else 0.0,
                     sha256=file_sha256(path), size_bytes=Path(path).stat().st_size)
