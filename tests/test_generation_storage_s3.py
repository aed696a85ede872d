"""Workers write videos through the configured storage: with S3 they need no shared disk, and an
unreachable store is a transient error, retried until the job's attempts run out."""

import io
import socket

import av
import pytest
from django.core.management import call_command

from generation import jobs
from generation.models import GenerationJob, Generator, Video
from generation.tasks import enqueue
from tests.factories import make_prompt
from tests.s3 import point_media_at, use_s3_media

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny_wan():
    call_command("register_generators", tiny_only=True, verbosity=0)
    return Generator.objects.get(name="tiny-wan")


def test_generated_videos_go_to_s3_and_nothing_to_local_disk(s3_endpoint, settings, media_root, tiny_wan):
    s3 = use_s3_media(settings, s3_endpoint, "media")
    prompt = make_prompt()
    call_command("generate", "--prompts", prompt.id, "--generators", "tiny-wan", "--seeds", "1", verbosity=0)
    video = Video.objects.get(prompt=prompt)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="media")["Contents"]}
    assert keys == {f"videos/{prompt.id}/{video.id}.mp4", f"posters/{prompt.id}/{video.id}.jpg"}
    data = s3.get_object(Bucket="media", Key=video.file.name)["Body"].read()
    with av.open(io.BytesIO(data)) as container:
        assert sum(1 for _ in container.decode(video=0)) == tiny_wan.num_frames
    assert not (media_root / "videos").exists()


def test_an_unreachable_store_is_retried_then_fails_clearly(settings, monkeypatch, tiny_wan):
    with socket.socket() as s:  # nothing listens on this port
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    point_media_at(settings, dead, "media")
    settings.GENERATION_MAX_ATTEMPTS, settings.GENERATION_RETRY_BACKOFF = 2, 0
    job = jobs.create_jobs([make_prompt()], [tiny_wan], [0]).get()
    enqueue(GenerationJob.objects.filter(id=job.id))  # in-process: retried here
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("failed", 2)
    assert job.error.startswith("Gave up after 2 attempts. Last error: EndpointConnectionError")
    assert not Video.objects.exists()


