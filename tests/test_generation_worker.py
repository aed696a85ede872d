"""A real Celery worker process, on the real Redis and PostgreSQL, runs tiny-pipeline jobs into mp4 files.

One worker serves the whole module (as a GPU worker would: one process, pipeline kept loaded);
the crash test kills it with SIGKILL and starts another.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import av
import numpy as np
import pytest
import redis
from django.core.management import call_command
from django.db import connection

from generation import jobs
from generation.models import GenerationJob, Generator, JobState, Video
from generation.tasks import enqueue, run_jobs
from tests.factories import make_prompt

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
QUEUE = "gen.tiny-wan"
VISIBILITY_TIMEOUT = 4  # seconds; short so a job of a killed worker comes back within the test


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    """`celery -A safesora worker` in its own process group, logging to a file."""

    def __init__(self, media: Path, log: Path):
        self.media, self.log, self.process = media, log, None

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": REDIS_URL,
               "MEDIA_ROOT": str(self.media), "SAFESORA_DATA_DIR": str(self.media.parent),
               "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT), "OMP_NUM_THREADS": "1",
               "DJANGO_SETTINGS_MODULE": "safesora.settings"}
        start = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "safesora", "worker", "-Q", QUEUE, "--concurrency", "1",
             "--prefetch-multiplier", "1", "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "-l", "INFO"],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: "ready." in self.log.read_text()[start:], 60, "the worker to start", self)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)  # the worker and its pool child, no cleanup
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def loads(self, generator: str) -> int:
        return self.log.read_text().count(f"loaded pipeline for {generator} ")


def wait_for(condition, seconds: float, what: str, worker: Worker | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if worker and worker.process.poll() is not None:
            raise AssertionError(f"the worker exited while waiting for {what}:\n{worker.log.read_text()[-3000:]}")
        time.sleep(0.2)
    tail = worker.log.read_text()[-3000:] if worker else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def reset_connections(app) -> None:
    """Drop the app's cached broker connections (as Celery does after a fork). Tasks run in-process
    earlier in the session made them for the settings' broker, not this one."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="module")
def broker():
    """This process sends to the real Redis (the settings run tasks in-process when no broker is set)."""
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = run_jobs.app
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = REDIS_URL, False
    reset_connections(app)
    yield REDIS_URL
    reset_connections(app)
    app.conf.broker_url, app.conf.task_always_eager = saved


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
        process = Worker(shared_media, shared_media.parent / "worker.log")
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

    wait_for(done, seconds, f"jobs {job_ids}", worker)
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
    wait_for(lambda: GenerationJob.objects.filter(id=job.id, state=JobState.RUNNING).exists(), 60,
             "the job to start", worker)
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
