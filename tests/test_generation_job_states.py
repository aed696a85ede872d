"""The job state machine (generation.jobs): claims, redelivery, retries, cancel, attempts."""

import time

import psycopg
import pytest
from django.db import connection

from generation import jobs
from generation.models import GenerationJob, JobState, Video
from tests.factories import make_generator, make_prompt, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def job():
    return jobs.create_jobs([make_prompt()], [make_generator("tiny-x")], [0]).get()


def test_creating_jobs_is_idempotent():
    prompts, generators = [make_prompt(), make_prompt()], [make_generator(), make_generator()]
    first = jobs.create_jobs(prompts, generators, [0, 1])
    assert first.count() == 8
    GenerationJob.objects.filter(id=first[0].id).update(state=JobState.SUCCEEDED)
    again = jobs.create_jobs(prompts, generators, [0, 1, 2])
    assert again.count() == 12 and GenerationJob.objects.count() == 12
    assert again.filter(state=JobState.SUCCEEDED).count() == 1  # existing jobs kept as they were


def test_claim_runs_a_job_once_and_counts_attempts(job):
    claimed = jobs.claim(job.id, worker_host="gpu0@box", task_id="t-1")
    assert (claimed.state, claimed.attempts, claimed.worker_host, claimed.task_id) == ("running", 1, "gpu0@box", "t-1")
    assert claimed.started_at is not None
    jobs.release([claimed])
    # The same worker process gets the message again (its child died): the job runs again.
    again = jobs.claim(job.id, worker_host="gpu1@box", task_id="t-1")
    assert (again.attempts, again.worker_host) == (2, "gpu1@box")
    video = Video(id=jobs.video_id_for(again), prompt=again.prompt, generator=again.generator, video_text="x",
                  fps=8, num_frames=5, width=32, height=32, duration=0.6, sha256="0" * 64, file="videos/a.mp4")
    assert jobs.succeed(again, video, pipeline_seconds=1.5)
    jobs.release([again])
    job.refresh_from_db()
    assert (job.state, job.pipeline_seconds, job.video.id) == ("succeeded", 1.5, video.id)
    assert job.total_seconds is not None and job.total_seconds >= 0
    assert jobs.claim(job.id) is None  # a succeeded job is never run again
    job.refresh_from_db()
    assert job.attempts == 2


def test_a_job_run_by_a_live_worker_is_busy_for_others(job):
    """On PostgreSQL the running worker's advisory lock lives as long as its connection."""
    settings = connection.settings_dict
    other = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                            password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [jobs._LOCK_NAMESPACE + job.id])
        with pytest.raises(jobs.Busy):
            jobs.claim(job.id)
    finally:
        other.close()  # the other worker dies: its lock goes with its connection
    deadline = time.monotonic() + 10
    while True:  # the server ends the dead connection's session a moment later
        try:
            assert jobs.claim(job.id).state == "running"
            break
        except jobs.Busy:
            assert time.monotonic() < deadline, "the lock outlived its connection"
            time.sleep(0.05)


def test_transient_errors_requeue_until_attempts_run_out(job, settings):
    settings.GENERATION_MAX_ATTEMPTS = 2
    jobs.claim(job.id)
    assert jobs.requeue([job.id], "OperationalError: server closed the connection") == [job.id]
    job.refresh_from_db()
    assert (job.state, job.error) == ("queued", "OperationalError: server closed the connection")
    jobs.claim(job.id)
    assert jobs.requeue([job.id], "OperationalError: again") == []
    job.refresh_from_db()
    assert job.state == "failed" and job.error.startswith("Gave up after 2 attempts. Last error: OperationalError")


def test_a_job_whose_worker_keeps_dying_is_failed(job, settings):
    settings.GENERATION_MAX_ATTEMPTS = 2
    for _ in range(2):
        assert jobs.claim(job.id) is not None
        jobs.release([GenerationJob.objects.get(id=job.id)])  # the worker died; the job stays `running`
    assert jobs.claim(job.id) is None
    job.refresh_from_db()
    assert job.state == "failed" and "the worker running this job died each time" in job.error


def test_cancel_drops_the_output_of_a_running_job_and_retry_requeues(job):
    claimed = jobs.claim(job.id)
    assert jobs.cancel(GenerationJob.objects.filter(id=job.id)) == 1
    video = Video(id=jobs.video_id_for(claimed), prompt=claimed.prompt, generator=claimed.generator,
                  video_text="x", fps=8, num_frames=5, width=32, height=32, duration=0.6, sha256="0" * 64)
    assert not jobs.succeed(claimed, video, pipeline_seconds=1.0)
    assert not Video.objects.exists()
    assert jobs.claim(job.id) is None  # cancelled: not run
    assert jobs.retry(GenerationJob.objects.all()) == [job.id]
    job.refresh_from_db()
    assert (job.state, job.finished_at) == ("queued", None)
    assert jobs.retry(GenerationJob.objects.all()) == []  # only failed or cancelled ones


def test_a_recreated_job_adopts_its_existing_video(job):
    """The video id is stable: a job deleted and made again never makes a second video."""
    existing = make_video(job.prompt, job.generator, id=jobs.video_id_for(job))
    claimed = jobs.claim(job.id)
    assert jobs.adopt_existing_video(claimed)
    job.refresh_from_db()
    assert job.state == "succeeded" and job.video == existing and Video.objects.count() == 1
