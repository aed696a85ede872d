import av
import numpy as np
import pytest

from generation.encoding import encode_mp4, poster_jpeg, probe


def test_frames_become_h264_yuv420p_mp4_with_faststart(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.random((17, 48, 65, 3), dtype=np.float32)  # odd width: cropped to even
    path = tmp_path / "v.mp4"
    encode_mp4(frames, 8, path)
    info = probe(path)
    assert (info.num_frames, info.width, info.height, info.fps) == (17, 64, 48, 8.0)
    assert info.duration == pytest.approx(17 / 8)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # faststart: index before the media data
    assert poster_jpeg(frames)[:3] == b"\xff\xd8\xff"


def test_a_non_video_file_does_not_probe(tmp_path):
    path = tmp_path / "bad.mp4"
    path.write_bytes(b"this is not a video" * 100)
    with pytest.raises(av.error.FFmpegError):
        probe(path)


def test_factory_writes_a_real_video_into_media_storage(db, media_root):
    from tests.factories import make_generator, make_prompt, make_video

    prompt = make_prompt()
    video = make_video(prompt, make_generator(), real=True)
    path = media_root / video.file.name
    assert video.file.name == f"videos/{prompt.id}/{video.id}.mp4"
    assert probe(path).num_frames == 16
    assert (media_root / video.poster.name).exists()
