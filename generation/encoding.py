"""Frames to browser-playable video: H.264, yuv420p, mp4 with faststart, plus a poster JPEG.

OpenCV's default `mp4v` codec does not play in Chromium's <video>; PyAV's wheel carries
libx264, so every file written here does.
"""

import hashlib
import io
import itertools
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


# Demuxers of real video containers. FFmpeg opens nearly anything (its `tty` demuxer renders a text
# file as video, `image2`/`*_pipe` read still images); only these are taken as video files.
VIDEO_CONTAINERS = frozenset({"mov", "mp4", "m4v", "3gp", "3g2", "mj2", "matroska", "webm", "avi", "flv",
                              "mpegts", "mpeg", "ogg", "asf", "nut", "mxf"})


class NotAVideo(ValueError):
    """A file that is not an acceptable video file; the message says why, for a person to act on."""


@dataclass(frozen=True)
class VideoHeader:
    container: str
    width: int
    height: int
    duration: float | None  # seconds, None when the container does not say


def check_video_file(path: Path | str, *, max_bytes: int | None = None, max_side: int | None = None,
                     max_seconds: float | None = None) -> VideoHeader:
    """The one rule for "is this an acceptable video file" (video import, moderation).

    Reads headers only, before anything is decoded: a real video container with a video stream,
    more than one frame, and within the size, resolution and duration limits (settings
    VIDEO_MAX_BYTES, VIDEO_MAX_SIDE, VIDEO_MAX_SECONDS unless given). Raises NotAVideo.
    """
    from django.conf import settings

    max_bytes = settings.VIDEO_MAX_BYTES if max_bytes is None else max_bytes
    max_side = settings.VIDEO_MAX_SIDE if max_side is None else max_side
    max_seconds = settings.VIDEO_MAX_SECONDS if max_seconds is None else max_seconds
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotAVideo(f"cannot read the file ({exc.strerror or exc})") from None
    if size == 0:
        raise NotAVideo("the file is empty")
    if size > max_bytes:
        raise NotAVideo(f"the file is {size:,} bytes; the limit is {max_bytes:,} (VIDEO_MAX_BYTES)")
    try:
        with av.open(str(path)) as container:
            names = set(container.format.name.split(","))
            if not names & VIDEO_CONTAINERS:
                raise NotAVideo(f"not a video container (FFmpeg reads it as {container.format.name!r}: "
                                "text, a still image or another non-video file)")
            if not container.streams.video:
                raise NotAVideo("the file has no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            duration = (float(stream.duration * stream.time_base) if stream.duration and stream.time_base
                        else container.duration / av.time_base if container.duration else None)
            frames = stream.frames
            header = VideoHeader(container.format.name, width, height, duration)
    except NotAVideo:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise NotAVideo(f"not a readable video ({getattr(exc, 'strerror', None) or exc})") from None
    if not width or not height:
        raise NotAVideo("the video stream has no frame size")
    if max(width, height) > max_side:
        raise NotAVideo(f"{width}x{height} pixels; the limit is {max_side} on each side (VIDEO_MAX_SIDE)")
    if frames == 1 or (duration is not None and duration <= 0):
        raise NotAVideo("a still image (one frame), not a video")
    if duration is not None and duration > max_seconds:
        raise NotAVideo(f"{duration:.0f} seconds long; the limit is {max_seconds} (VIDEO_MAX_SECONDS)")
    return header


def _moov_before_mdat(path: Path) -> bool:
    """Faststart: the mp4 index (moov box) comes before the media data, so playback starts at once."""
    with open(path, "rb") as fh:
        while header := fh.read(8):
            if len(header) < 8:
                return False
            size, kind = int.from_bytes(header[:4], "big"), header[4:]
            if kind == b"moov":
                return True
            if kind == b"mdat":
                return False
            if size == 1:
                size = int.from_bytes(fh.read(8), "big") - 8
            elif size == 0:
                return False
            fh.seek(size - 8, io.SEEK_CUR)
    return False


def browser_ready(path: Path) -> bool:
    """Already what encode_mp4 writes (H.264, yuv420p, mp4, faststart)? Then it needs no re-encoding."""
    with av.open(str(path)) as container:
        if "mp4" not in container.format.name.split(",") or not container.streams.video:
            return False
        codec = container.streams.video[0].codec_context
        if codec.name != "h264" or codec.pix_fmt != "yuv420p" or codec.width % 2 or codec.height % 2:
            return False
    return _moov_before_mdat(Path(path))


def transcode_mp4(source: Path, path: Path, *, crf: int = 20, preset: str = "fast") -> None:
    """Re-encode any video PyAV can decode to H.264/yuv420p mp4 with faststart, keeping its frame rate.

    Frames stream through one at a time, so long videos do not fill memory. Audio is dropped.
    """
    with av.open(str(source)) as src:
        if not src.streams.video:
            raise ValueError(f"{Path(source).name}: no video stream")
        stream_in = src.streams.video[0]
        stream_in.thread_type = "AUTO"
        rate = Fraction(stream_in.average_rate or stream_in.guessed_rate or 24).limit_denominator(1001)
        width, height = stream_in.codec_context.width, stream_in.codec_context.height
        with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream("libx264", rate=rate)
            stream.width, stream.height = width - width % 2, height - height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": preset}
            for frame in src.decode(stream_in):
                frame = frame.reformat(width=stream.width, height=stream.height, format="yuv420p")
                frame.pts = None
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)


def poster_from_file(path: Path, frame_index: int, quality: int = 85) -> bytes:
    """A JPEG of one frame of a video file (the poster of an imported video)."""
    with av.open(str(path)) as container:
        image = next(itertools.islice(container.decode(video=0), frame_index, None)).to_image()
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
