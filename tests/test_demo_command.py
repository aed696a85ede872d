import av
import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.http import HttpRequest

from annotation.models import Campaign, Pair
from generation.models import Prompt, Video
from safesora.roles import is_crowdworker

pytestmark = pytest.mark.django_db


def test_demo_setup_is_idempotent_and_logs_users_in(capsys, media_root):
    call_command("demo")
    call_command("demo")
    assert "log in as worker" in capsys.readouterr().out
    assert Prompt.objects.filter(source="demo").count() == 12
    assert Prompt.objects.filter(prompt_type="safety_critical").exists()
    admin = authenticate(HttpRequest(), username="admin", password="admin-demo-pass")
    worker = authenticate(HttpRequest(), username="worker", password="worker-demo-pass")
    assert admin.is_staff and not worker.is_staff
    assert is_crowdworker(worker)

    # Videos from three tiny generators for every bundled prompt, and the pairs to label them.
    videos = Video.objects.filter(prompt__source="demo")
    assert videos.count() == 36 and videos.values("generator").distinct().count() == 3
    for video in videos[:3]:
        with av.open(str(media_root / video.file.name)) as container:
            stream = container.streams.video[0]
            assert (stream.codec_context.name, stream.codec_context.pix_fmt) == ("h264", "yuv420p")
            assert sum(1 for _ in container.decode(stream)) == video.num_frames
        assert (media_root / video.poster.name).exists()
    campaign = Campaign.objects.get(name="Demo campaign")
    assert list(campaign.workers.all()) == [worker]
    pairs = Pair.objects.filter(campaign=campaign)
    assert pairs.count() == 12 * 3  # three generators: three pairs per prompt
    assert all(p.video_0.generator_id != p.video_1.generator_id for p in pairs.select_related("video_0", "video_1"))
