"""Sample N frames spread uniformly over a video, seeking instead of decoding everything.

The frame for slot i is the one shown at time (i + 0.5) / N of the clip. The container's index
(mp4 keeps it in the moov box) says where the keyframes are; for each target we seek to the
keyframe before it only when that keyframe lies beyond what is already decoded, and otherwise
keep decoding forward. So a clip with one keyframe is decoded once up to the last target, and a
long clip with many keyframes decodes only a short run before each target. Only the chosen
frames are converted to RGB (and resized, in swscale).

Any file that cannot be read raises UnreadableVideo naming the file; nothing else escapes.
"""

from pathlib import Path

import av
import numpy as np

# Seeking flushes the decoder and refills its thread pipeline: worth it only when it skips more
# than this many frames.
SEEK_MIN_GAP = 12


class UnreadableVideo(Exception):
    """The video file is missing, corrupt or has no decodable video frames."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read video {self.path}: {reason}")


def sample_frames(path: str | Path, num_frames: int = 8, size: int | tuple[int, int] | None = None,
                  threads: int = 0) -> np.ndarray:
    """Return (num_frames, H, W, 3) uint8 RGB frames sampled uniformly in time.

    `size` resizes each frame: an int gives a square, a (width, height) pair that shape, None keeps
    the video's own. `threads` is the decoder's thread count (0: FFmpeg chooses).
    """
    if num_frames < 1:
        raise ValueError("num_frames must be at least 1")
    width, height = (size, size) if isinstance(size, int) else (size or (None, None))
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UnreadableVideo(path, "no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.thread_count = threads
            frames = _sample(container, stream, num_frames)
            if not frames:
                raise UnreadableVideo(path, "no decodable frames")
            arrays = [f.to_ndarray(format="rgb24", width=width, height=height) for f in frames]
    except UnreadableVideo:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise UnreadableVideo(path, str(exc) or type(exc).__name__) from exc
    # A truncated file can end before the last targets: repeat the last frame that decoded.
    arrays += [arrays[-1]] * (num_frames - len(arrays))
    return np.stack(arrays)


def _targets(stream, num_frames: int) -> list[int] | None:
    """Presentation timestamps (in stream time base) of the wanted frames, or None if unknown."""
    start = stream.start_time or 0
    duration = stream.duration
    if not duration and stream.container.duration:
        duration = int(stream.container.duration / av.time_base / stream.time_base)
    if not duration:
        return None
    return [start + int((i + 0.5) * duration / num_frames) for i in range(num_frames)]


def _sample(container, stream, num_frames: int) -> list:
    targets = _targets(stream, num_frames)
    if targets is None or len(stream.index_entries) == 0:
        return _sample_sequential(container, stream, num_frames)
    entries = stream.index_entries
    chosen = []
    decoder = None
    segment = -1  # index entry of the keyframe the current decode run started from
    shown = None  # the last decoded frame at or before the target: what a player shows then
    ahead = None  # a decoded frame past the previous target, not used yet
    for target in targets:
        key = max(entries.search_timestamp(target, backward=True), 0)
        if decoder is None or (key > segment and key - _position(entries, shown) > SEEK_MIN_GAP):
            container.seek(target, stream=stream, backward=True)
            decoder, segment, shown, ahead = container.decode(stream), key, None, None
        while True:
            if ahead is None:
                ahead = next(decoder, None)
                if ahead is None:
                    break  # end of the stream (or of a truncated file)
            if shown is not None and ahead.pts is not None and ahead.pts > target:
                break
            shown, ahead = ahead, None
        if shown is None:
            break
        chosen.append(shown)
    return chosen


def _position(entries, frame) -> int:
    """The index entry of a decoded frame (roughly: the index holds decode timestamps)."""
    if frame is None or frame.pts is None:
        return -1
    return entries.search_timestamp(frame.pts, backward=True, any_frame=True)


def _sample_sequential(container, stream, num_frames: int) -> list:
    """No duration or no index: decode everything once, keep the frames at uniform positions."""
    all_frames = list(container.decode(stream))
    if not all_frames:
        return []
    count = len(all_frames)
    return [all_frames[min(count - 1, int((i + 0.5) * count / num_frames))] for i in range(num_frames)]
