"""H.264 encode speed at a real generator's output size (81 frames of 480x832, Wan 2.1's default):
our encoding path (generation.encoding: uint8 conversion, yuv420p, faststart, poster, sha256) against
PyAV's raw encode of the same frames with the same codec settings. Target: within 10% of raw PyAV.

    python bench/encode_speed.py [--repeats 3] [--frames 81 --height 480 --width 832]
"""

import argparse
import statistics
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from common import Timer, setup_django, write_result

# A published pipeline time to compare with: CogVideoX-2B takes about 90 s per video on an A100.
REAL_PIPELINE_SECONDS = 90.0


def synthetic_clip(frames: int, height: int, width: int) -> np.ndarray:
    """Smooth gradients, moving shapes and a little grain: encodes like generated video, unlike pure noise."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        base = np.stack([(x + 3 * t) % 256, (y + 2 * t) % 256, ((x + y) // 2 + t) % 256], axis=-1)
        cx, cy = int(width * (0.2 + 0.6 * t / frames)), height // 2
        base[(x - cx) ** 2 + (y - cy) ** 2 < (height // 6) ** 2] = (240, 200, 60)
        clip[t] = np.clip(base + rng.integers(-6, 7, size=base.shape), 0, 255)
    return clip


def raw_pyav(frames: np.ndarray, fps: int, path: Path, crf: int = 20, preset: str = "fast") -> None:
    """The baseline: libx264 through PyAV with the same settings, no faststart, nothing else."""
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": preset}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--fps", type=int, default=16)
    args = parser.parse_args()
    setup_django()
    from generation.encoding import encode_mp4, file_sha256, poster_jpeg

    clip = synthetic_clip(args.frames, args.height, args.width)
    ours, ours_full, raw = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):  # interleaved, so load on the machine hits both alike
            with Timer() as t:
                raw_pyav(clip, args.fps, Path(tmp) / f"raw{i}.mp4")
            raw.append(t.seconds)
            with Timer() as t:
                encode_mp4(clip, args.fps, Path(tmp) / f"ours{i}.mp4")
            ours.append(t.seconds)
            with Timer() as t:  # everything a worker does with the frames before storing them
                encode_mp4(clip, args.fps, Path(tmp) / f"full{i}.mp4")
                poster_jpeg(clip)
                file_sha256(Path(tmp) / f"full{i}.mp4")
            ours_full.append(t.seconds)
        size = (Path(tmp) / "ours0.mp4").stat().st_size
    raw_s, ours_s, full_s = statistics.median(raw), statistics.median(ours), statistics.median(ours_full)
    write_result("encode_speed", {
        "clip": f"{args.frames} frames of {args.height}x{args.width}",
        "raw_pyav_seconds": round(raw_s, 3),
        "encode_mp4_seconds": round(ours_s, 3),
        "encode_mp4_vs_raw": f"{(ours_s / raw_s - 1) * 100:+.1f}%",
        "encode_poster_sha256_seconds": round(full_s, 3),
        "full_path_vs_raw": f"{(full_s / raw_s - 1) * 100:+.1f}%",
        "within_10_percent_of_raw": ours_s <= raw_s * 1.10,
        "encoded_size_kb": round(size / 1024),
        "encode_share_of_90s_pipeline": f"{full_s / REAL_PIPELINE_SECONDS * 100:.2f}%",
        "repeats": args.repeats,
    })


if __name__ == "__main__":
    main()
