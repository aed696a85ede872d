"""Frame sampling: the frames shown at uniform times, read by seeking; unreadable files raise a clear error."""

from fractions import Fraction

import av
import numpy as np
import pytest

from generation.encoding import encode_mp4
from moderation.frames import UnreadableVideo, sample_frames


def numbered_clip(count: int = 48, size: int = 64) -> np.ndarray:
    """Frame t is a flat grey of level 5*t: which frame came back is readable from its pixels."""
    return np.stack([np.full((size, size, 3), 5 * t, dtype=np.uint8) for t in range(count)])


def write_with_keyframes_every(frames: np.ndarray, path, gop: int, fps: int = 24) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"crf": "10", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decode_all(path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.parametrize("layout", ["one keyframe", "keyframe every 4 frames"])
def test_returns_the_frames_at_uniform_times_as_a_full_decode_would(tmp_path, layout):
    path = tmp_path / "clip.mp4"
    frames = numbered_clip()
    if layout == "one keyframe":
        encode_mp4(frames, 24, path)
    else:
        write_with_keyframes_every(frames, path, gop=4)
    every = decode_all(path)
    wanted = [int((i + 0.5) * len(every) / 8) for i in range(8)]

    got = sample_frames(path, 8)

    assert got.shape == (8, 64, 64, 3) and got.dtype == np.uint8
    for slot, index in enumerate(wanted):
        assert np.array_equal(got[slot], every[index]), f"slot {slot} is not frame {index}"
    levels = [round(float(f.mean()) / 5) for f in got]
    assert levels == sorted(levels) and len(set(levels)) == 8  # distinct frames, in time order


def test_resizes_in_the_decoder(tmp_path):
    path = tmp_path / "clip.mp4"
    encode_mp4(numbered_clip(size=64), 24, path)
    assert sample_frames(path, 4, size=32).shape == (4, 32, 32, 3)
    assert sample_frames(path, 3, size=(48, 16)).shape == (3, 16, 48, 3)


def test_more_frames_than_the_clip_has_repeats_frames(tmp_path):
    path = tmp_path / "short.mp4"
    encode_mp4(numbered_clip(count=4), 8, path)
    assert sample_frames(path, 8).shape == (8, 64, 64, 3)


def corrupt_files(tmp_path):
    good = tmp_path / "good.mp4"
    encode_mp4(numbered_clip(), 24, good)
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    header_only = tmp_path / "header_only.mp4"
    header_only.write_bytes(good.read_bytes()[:600])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video")
    return [garbage, header_only, empty, text, tmp_path / "missing.mp4"]


def test_unreadable_files_raise_a_clear_error_naming_the_file(tmp_path):
    for path in corrupt_files(tmp_path):
        with pytest.raises(UnreadableVideo) as raised:
            sample_frames(path, 8)
        assert str(path) in str(raised.value) and raised.value.reason, path
