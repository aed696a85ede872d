"""A real Celery worker process, on the real Redis and PostgreSQL, runs tiny-pipeline jobs into mp4 files.

One worker serves the whole module (as a GPU worker would: one process, pipeline kept loaded);
the crash test kills it with SIGKILL and starts another.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.management import call_command

from generation import jobs
from generation.models import GenerationJob, Generator, JobState, Video
from generation.tasks import enqueue, run_jobs
from tests.celery_worker import REDIS_URL, ROOT, Worker, database_url, real_broker
from tests.factories import make_prompt

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUEUE = "gen.tiny-wan"
VISIBILITY_TIMEOUT = 4  # seconds; short so a job of a killed worker comes back within the test


class GenerationWorker(Worker):
    def loads(self, generator: str) -> int:
        return self.log.read_text().count(f"loaded pipeline for {generator} ")


@pytest.fixture(scope="module")
def broker():
    with real_broker() as url:
        yield url


@pytest.fixture(scope="module")
def shared_media(tmp_path_factory):
    return tmp_path_factory.mktemp("worker") / "media"


@pytest.fixture
def media_root(settings, shared_media):
    """The worker and this process share the media folder (S3 in production)."""
    settings.MEDIA_ROOT = shared_media
    return shared_media


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, broker, shared_media):
    with django_db_blocker.unblock():
        process = GenerationWorker(QUEUE, shared_media.parent / "worker.log", env={
            "MEDIA_ROOT": str(shared_media), "SAFESORA_DATA_DIR": str(shared_media.parent),
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT)})
        process.start()
    yield process
    process.stop()


@pytest.fixture
def tiny_wan(worker):
    call_command("register_generators", tiny_only=True, verbosity=0)
    return Generator.objects.get(name="tiny-wan")


def wait_done(job_ids, worker, seconds=90):
    def done():
        return GenerationJob.objects.filter(id__in=job_ids, state__in=jobs.FINAL_STATES).count() == len(job_ids)

    worker.wait_for(done, seconds, f"jobs {job_ids}")
    return list(GenerationJob.objects.filter(id__in=job_ids).order_by("id"))


def decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def test_jobs_become_playable_mp4_files_and_the_pipeline_loads_once(worker, tiny_wan, media_root):
    prompts = [make_prompt() for _ in range(4)]
    created = jobs.create_jobs(prompts, [tiny_wan], [0])
    loads_before = worker.loads("tiny-wan")
    enqueue(created, batch_size=2)  # two messages of two jobs each
    done = wait_done([j.id for j in created], worker)
    assert [j.state for j in done] == ["succeeded"] * 4, [j.error for j in done]
    assert worker.loads("tiny-wan") == loads_before + 1  # one load, four jobs
    assert len({j.task_id for j in done}) == 2
    for job in done:
        video = Video.objects.get(job=job)
        assert video.id == jobs.video_id_for(job) and video.origin == "generated" and video.seed == 0
        frames = decode(media_root / video.file.name)
        assert frames.shape == (tiny_wan.num_frames, tiny_wan.height, tiny_wan.width, 3)
        assert (video.num_frames, video.width, video.height, video.fps) == (
            tiny_wan.num_frames, tiny_wan.width, tiny_wan.height, tiny_wan.fps)
        with av.open(str(media_root / video.file.name)) as container:
            assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
            assert container.streams.video[0].codec_context.name == "h264"
        assert (media_root / video.poster.name).read_bytes()[:3] == b"\xff\xd8\xff"
        assert job.attempts == 1 and job.worker_host.startswith("test-")
        assert 0 < job.pipeline_seconds <= job.total_seconds
    assert not list((media_root / ".incoming").iterdir())  # no temporary files left behind


def test_same_seed_same_frames_and_a_succeeded_job_is_never_rerun(worker, tiny_wan, media_root):
    twin = Generator.objects.create(name="tiny-wan-again", family="wan", pipeline_class=tiny_wan.pipeline_class,
                                    num_frames=tiny_wan.num_frames, fps=tiny_wan.fps, height=tiny_wan.height,
                                    width=tiny_wan.width, num_inference_steps=tiny_wan.num_inference_steps,
                                    guidance_scale=tiny_wan.guidance_scale, dtype=tiny_wan.dtype,
                                    negative_prompt=tiny_wan.negative_prompt, extra_params=tiny_wan.extra_params,
                                    queue=QUEUE)
    prompt = make_prompt("a red fox in the snow")
    created = jobs.create_jobs([prompt], [tiny_wan, twin], [7]) | jobs.create_jobs([prompt], [tiny_wan], [8])
    enqueue(created, batch_size=1)
    done = {(j.generator.name, j.seed): j for j in wait_done([j.id for j in created], worker)}
    frames = {key: decode(media_root / Video.objects.get(job=job).file.name) for key, job in done.items()}
    assert np.array_equal(frames["tiny-wan", 7], frames["tiny-wan-again", 7])
    assert not np.array_equal(frames["tiny-wan", 7], frames["tiny-wan", 8])

    first = done["tiny-wan", 7]
    video = Video.objects.get(job=first)
    stamp = (media_root / video.file.name).stat().st_mtime_ns
    run_jobs.apply_async(args=[[first.id]], queue=QUEUE)  # delivered again
    later = jobs.create_jobs([make_prompt()], [tiny_wan], [0])  # a marker behind it in the queue
    enqueue(later)
    wait_done([later.get().id], worker)
    first_again = GenerationJob.objects.get(id=first.id)
    assert (first_again.attempts, first_again.finished_at, first_again.state) == (1, first.finished_at, "succeeded")
    assert Video.objects.filter(prompt=prompt, generator=tiny_wan, seed=7).count() == 1
    assert (media_root / video.file.name).stat().st_mtime_ns == stamp


def test_a_job_killed_mid_run_completes_after_restart_with_exactly_one_video(worker, tiny_wan, media_root):
    # Many denoising steps make the tiny job last several seconds, long enough to kill it halfway.
    created = jobs.create_jobs([make_prompt()], [tiny_wan], [0], params={"num_inference_steps": 1000})
    job = created.get()
    enqueue(created)
    worker.wait_for(lambda: GenerationJob.objects.filter(id=job.id, state=JobState.RUNNING).exists(), 60,
                    "the job to start")
    time.sleep(0.5)
    worker.kill()
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("running", 1)
    assert not Video.objects.filter(job=job).exists()
    # Redis hands the unacknowledged job out again once its visibility timeout has passed.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    worker.start()
    (job,) = wait_done([job.id], worker, seconds=180)
    assert (job.state, job.attempts) == ("succeeded", 2), job.error
    assert Video.objects.filter(prompt=job.prompt, generator=tiny_wan).count() == 1
    video = Video.objects.get(job=job)
    assert decode(media_root / video.file.name).shape[0] == tiny_wan.num_frames
    stored = list((media_root / "videos" / job.prompt_id).iterdir())
    assert [p.name for p in stored] == [f"{video.id}.mp4"]  # no second file beside it


def test_generate_command_enqueues_and_follows_progress_to_the_end(worker, tiny_wan, media_root):
    prompts = [make_prompt() for _ in range(3)]
    env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": REDIS_URL,
           "MEDIA_ROOT": str(media_root), "SAFESORA_DATA_DIR": str(media_root.parent)}
    command = [sys.executable, "manage.py", "generate", "--prompts", *[p.id for p in prompts],
               "--generators", "tiny-wan", "--seeds", "2", "--poll", "0.3"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "6 jobs on tiny-wan: 6 to run, 0 finished already" in result.stdout
    assert "sent 6 jobs to gen.tiny-wan" in result.stdout
    assert "6/6" in result.stderr and "6 succeeded" in result.stdout
    assert Video.objects.filter(prompt__in=prompts).count() == 6
    again = subprocess.run([*command, "--no-wait"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert "0 to run, 6 finished already" in again.stdout
